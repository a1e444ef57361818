"""Knowing the broker has read our acks: a synchronous call sent after them is answered after them.

basic.ack has no answer, so an ack lost with its connection would go unnoticed and its message
come again. A channel's frames are read in order, so once a basic.qos sent after some acks is
answered, the broker has read those acks. One call in flight covers every ack sent before it;
acks made meanwhile wait for the next one, so under load a round trip serves many acks.
"""

from collections.abc import Callable
from typing import Any

# The prefetch every consumer of the channel is started with anyway (waiting.py); only consumers
# started after a basic.qos see its value, so repeating it changes nothing.
PREFETCH = 1


class AckBarrier:
    """Calls back once the broker has read the acks sent before each call to `after_acks` (I/O thread)."""

    def __init__(self) -> None:
        """Nothing waits yet."""
        self._waiting: list[Callable[[], None]] = []
        self._in_flight: list[Callable[[], None]] | None = None

    def after_acks(self, channel: Any, done: Callable[[], None]) -> None:
        """Call `done` once the broker has read every ack sent on `channel` so far."""
        self._waiting.append(done)
        if self._in_flight is None:
            self._send(channel)

    def _send(self, channel: Any) -> None:
        """Ask for an answer that comes after every ack sent so far."""
        self._in_flight, self._waiting = self._waiting, []
        channel.basic_qos(prefetch_count=PREFETCH, callback=lambda _frame: self._answered(channel))

    def _answered(self, channel: Any) -> None:
        """The acks before the call are read: tell their requests, and cover those made since."""
        done, self._in_flight = self._in_flight or [], None
        for callback in done:
            callback()
        if self._waiting:
            self._send(channel)

    def lost(self) -> None:
        """The channel is gone: nobody will be told (their requests answer that the outcome is unknown)."""
        self._waiting = []
        self._in_flight = None
