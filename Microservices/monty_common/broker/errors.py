"""Why a broker operation did not happen."""


class BrokerUnavailable(Exception):
    """The broker could not be reached, blocked publishing, or did not answer in time."""


class OutcomeUnknown(BrokerUnavailable):
    """The broker received the request but did not answer in time: it may or may not have acted."""

    def __init__(self, reason: str, message_id: str | None = None) -> None:
        """`message_id` names the message whose fate is unknown, if any."""
        super().__init__(reason)
        self.message_id = message_id


class Abandoned(Exception):
    """The request stopped waiting for the broker's answer: its client went away."""


class PublishRejected(Exception):
    """The broker answered but did not take the message (nacked, or no queue was bound)."""

    def __init__(self, reason: str) -> None:
        """`reason` is "nacked" or "unroutable"."""
        super().__init__(reason)
        self.reason = reason
