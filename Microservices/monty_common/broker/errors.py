"""Why a broker operation did not happen."""


class BrokerUnavailable(Exception):
    """The broker could not be reached, blocked publishing, or did not answer in time."""


class PublishRejected(Exception):
    """The broker answered but did not take the message (nacked, or no queue was bound)."""

    def __init__(self, reason: str) -> None:
        """`reason` is "nacked" or "unroutable"."""
        super().__init__(reason)
        self.reason = reason
