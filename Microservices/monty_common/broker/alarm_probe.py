"""Learning of a broker's resource alarm before a real publish waits on it.

While a memory or disk alarm is on, RabbitMQ stops reading from every connection that publishes, but
it tells a connection so (connection.blocked) only once that connection publishes: a connection
that has not published since the alarm began learns nothing, and the first real publish on it would
wait unanswered until MONTY_BROKER_TIMEOUT (504). So the publisher's connection publishes a probe,
an empty message to the default exchange under a routing key no queue has, and the broker drops it:
right after connecting (the link is ready only once the probe is answered or the connection is
blocked) and then every PROBE_SECONDS. An alarm is thus known within PROBE_SECONDS of its start, and
a publish is answered 503 at once while it lasts; only a publish sent in the moment between the
alarm's start and the next probe can still wait for its confirm (504, its outcome unknown).

The probe has a channel of its own (no confirms: its delivery tags would shift the publisher's), and
after each probe a basic.qos on that channel, answered only once the broker has read the probe and
has not stopped reading.
"""

from collections.abc import Callable
from typing import Any

from monty_common.broker.timers import Timer

PROBE_SECONDS = 1.0
# No queue bears this name: the broker drops the probe (it is counted as unroutable).
PROBE_ROUTING_KEY = "monty.alarm-probe"


class AlarmProbe:
    """Probes `connection` for a resource alarm now and every PROBE_SECONDS (I/O thread only)."""

    def __init__(
        self, connection: Any, first_answer: Callable[[], None], every: float = PROBE_SECONDS
    ) -> None:
        """Open the probe channel and probe; `first_answer` is called once, when the broker has read
        the first probe or blocked the connection."""
        self._connection = connection
        self._first_answer: Callable[[], None] | None = first_answer
        self._every = every
        self._channel: Any = None
        self._in_flight = False
        self._timer: Timer | None = None
        connection.add_on_connection_blocked_callback(lambda _conn, _frame: self._answered())
        connection.channel(on_open_callback=self._on_open)

    def _on_open(self, channel: Any) -> None:
        """Probe on the new channel."""
        self._channel = channel
        channel.add_on_close_callback(lambda _channel, _reason: self._stop())
        self._probe()

    def _probe(self) -> None:
        """Publish a probe and ask for an answer that comes only once the broker has read it."""
        self._timer = None
        channel = self._channel
        if channel is None or not channel.is_open or self._in_flight:
            self._schedule()
            return
        self._in_flight = True
        channel.basic_publish("", PROBE_ROUTING_KEY, b"")
        channel.basic_qos(prefetch_count=0, callback=lambda _frame: self._read())

    def _read(self) -> None:
        """The broker read the probe and goes on reading."""
        self._in_flight = False
        self._answered()
        self._schedule()

    def _answered(self) -> None:
        """The first probe was read, or the connection is blocked: the link may serve."""
        first, self._first_answer = self._first_answer, None
        if first is not None:
            first()

    def _schedule(self) -> None:
        """Probe again after the interval."""
        if self._timer is None and self._connection.is_open:
            self._timer = Timer(self._connection.ioloop, self._every, self._probe)

    def _stop(self) -> None:
        """The channel closed: probe no more. If only the channel closed, the link still serves
        (alarms are then learnt from real publishes)."""
        self._channel = None
        if self._connection.is_open:
            self._answered()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
