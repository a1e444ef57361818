"""What the archive worker holds and has stored, published by its thread for the metrics thread to read."""

from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class Progress:
    """One moment of the worker: whether it consumes, the messages it received and has not stored
    yet (with the oldest publish time among them), and the messages it stored since it started."""

    consuming: bool = False
    held: int = 0
    oldest_published_at: datetime | None = None
    stored: int = 0

    def lag_seconds(self, now: datetime) -> float:
        """Age at `now` of the oldest message held unstored; 0 when none is held (or its producer's
        clock runs ahead)."""
        if self.oldest_published_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_published_at).total_seconds())


class ProgressBoard:
    """The worker's latest Progress. Only the worker's thread writes, by replacing the frozen
    snapshot; a reader takes the reference in one step, so it sees one consistent moment without a
    lock and never touches the worker's batch or its pika objects."""

    def __init__(self) -> None:
        """Not consuming, nothing held or stored yet."""
        self._latest = Progress()

    def latest(self) -> Progress:
        """The latest snapshot (from any thread)."""
        return self._latest

    def consuming(self) -> None:
        """The worker consumes on a new connection, holding nothing yet."""
        self._latest = replace(self._latest, consuming=True, held=0, oldest_published_at=None)

    def received(self, published_at: datetime) -> None:
        """The worker holds one more message, published at `published_at`."""
        latest = self._latest
        oldest = latest.oldest_published_at
        if oldest is None or published_at < oldest:
            oldest = published_at
        self._latest = replace(latest, held=latest.held + 1, oldest_published_at=oldest)

    def stored(self, count: int) -> None:
        """The worker committed the `count` messages it held."""
        latest = self._latest
        self._latest = replace(latest, held=0, oldest_published_at=None, stored=latest.stored + count)

    def disconnected(self) -> None:
        """The worker lost (or closed) its connection: what it held went back to the queue."""
        self._latest = replace(self._latest, consuming=False, held=0, oldest_published_at=None)
