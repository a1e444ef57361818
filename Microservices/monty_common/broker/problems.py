"""How broker faults are answered over HTTP."""

from monty_common.broker.errors import BrokerUnavailable, OutcomeUnknown, PublishRejected
from monty_common.problems import ProblemError


def broker_problem(error: BrokerUnavailable | PublishRejected, retry_after: int) -> ProblemError:
    """503 when the broker did not take the message (retrying is safe), 504 when nobody knows."""
    headers = {"Retry-After": str(retry_after)}
    if isinstance(error, OutcomeUnknown):
        return ProblemError(
            504,
            "outcome-unknown",
            "Broker Did Not Confirm in Time",
            f"The message was sent but not confirmed ({error}); it may or may not be stored. "
            "A retry may store it twice: consumers can drop the copy by message_id.",
            headers,
            message_id=error.message_id,
        )
    if isinstance(error, PublishRejected):
        if error.reason == "unroutable":
            return ProblemError(
                503,
                "unroutable",
                "Message Not Routed",
                "No queue is bound to take the message; it was not stored.",
                headers,
            )
        return ProblemError(
            503,
            "rejected-by-broker",
            "Message Rejected by Broker",
            "The broker refused the message (for example a queue at its length limit); it was not stored.",
            headers,
        )
    return ProblemError(503, "broker-unavailable", "Broker Unavailable", str(error), headers)
