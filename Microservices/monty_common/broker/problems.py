"""How broker faults are answered over HTTP."""

from monty_common.broker.errors import BrokerUnavailable, PublishRejected
from monty_common.problems import ProblemError


def broker_problem(error: BrokerUnavailable | PublishRejected, retry_after: int) -> ProblemError:
    """A 503 with Retry-After: the message was not taken, so retrying is safe."""
    headers = {"Retry-After": str(retry_after)}
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
