"""Noticing that a queue was deleted even while messages still route elsewhere.

A mandatory publish comes back only when no queue at all takes it: with another queue bound to the
same exchange and key (the archive's), a deleted work queue goes unnoticed and messages reach only
the other one. So the publisher asks the broker, every few seconds, whether the queue is still
there, on a probe channel of its own (a passive declare of a missing queue closes that channel,
not the one publishing).
"""

from collections.abc import Callable
from typing import Any

from pika.exceptions import ChannelClosedByBroker

from monty_common.broker.timers import Timer

NOT_FOUND = 404


class QueueWatch:
    """Checks every `every` seconds that `queue` exists; calls `on_missing` (I/O thread) when not."""

    def __init__(self, connection: Any, queue: str, every: float, on_missing: Callable[[], None]) -> None:
        """Open the probe channel and start checking."""
        self._connection = connection
        self._queue = queue
        self._every = every
        self._on_missing = on_missing
        self._probe: Any = None
        self._timer: Timer | None = None
        self._open_probe()

    def _open_probe(self) -> None:
        """Open a probe channel; checking starts once it is open."""
        self._probe = None
        if self._connection.is_open:
            self._connection.channel(on_open_callback=self._on_probe_open)

    def _on_probe_open(self, channel: Any) -> None:
        """Use the new probe channel, and check after the interval."""
        channel.add_on_close_callback(self._on_probe_closed)
        self._probe = channel
        self._schedule()

    def _schedule(self) -> None:
        """Check again after the interval."""
        self._timer = Timer(self._connection.ioloop, self._every, self._check)

    def _check(self) -> None:
        """Ask whether the queue exists (without declaring it)."""
        self._timer = None
        if self._probe is not None and self._probe.is_open:
            self._probe.queue_declare(self._queue, passive=True, callback=lambda _frame: self._schedule())

    def _on_probe_closed(self, _channel: Any, reason: BaseException) -> None:
        """The broker closed the probe: 404 means the queue is gone; either way, open another probe."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if isinstance(reason, ChannelClosedByBroker) and reason.reply_code == NOT_FOUND:
            self._on_missing()
        if self._connection.is_open:
            self._open_probe()
