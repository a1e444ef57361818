"""Noticing a connection whose broker went silent (a network that drops packets without closing).

RabbitMQ sends a heartbeat every half MONTY_AMQP_HEARTBEAT when nothing else flows, so a healthy
connection never goes that long without a byte. pika's own heartbeat checker looks only every
heartbeat + 5 s and gives up after one such interval without data: a dead peer takes it between
heartbeat + 5 s and twice that to notice (10 to 20 s at 5 s). This watch looks every quarter
heartbeat and drops the connection once nothing came for one and a half heartbeats: a silent drop is
noticed within 1.75 heartbeats of it, and the link then fails over or reconnects.
"""

from typing import Any

from pika.exceptions import AMQPHeartbeatTimeout

from monty_common.broker.timers import Timer

# Heartbeats of silence after which the connection is taken for dead, and checks per heartbeat.
SILENT_HEARTBEATS = 1.5
CHECKS_PER_HEARTBEAT = 4


class SilenceWatch:
    """Drops `connection` (on its I/O loop) when it receives nothing for SILENT_HEARTBEATS heartbeats."""

    def __init__(self, connection: Any, heartbeat: float) -> None:
        """Start watching an open connection whose heartbeat interval is `heartbeat` seconds."""
        self._connection = connection
        self._every = heartbeat / CHECKS_PER_HEARTBEAT
        self._limit = SILENT_HEARTBEATS * CHECKS_PER_HEARTBEAT
        self._heartbeat = heartbeat
        self._seen = connection.bytes_received
        self._quiet_checks = 0
        self._timer: Timer | None = Timer(connection.ioloop, self._every, self._check)

    def stop(self) -> None:
        """Stop watching (the connection closed)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        """Count a check without a byte received; drop the connection after too many."""
        self._timer = None
        if not self._connection.is_open:
            return
        received = self._connection.bytes_received
        if received != self._seen:
            self._seen = received
            self._quiet_checks = 0
        else:
            self._quiet_checks += 1
        if self._quiet_checks >= self._limit:
            # Closing politely would wait for an answer that cannot come: end the stream, as
            # pika's own heartbeat checker does.
            silent = self._quiet_checks * self._every
            self._connection._terminate_stream(
                AMQPHeartbeatTimeout(f"nothing received from the broker for {silent:.1f} s")
            )
            return
        self._timer = Timer(self._connection.ioloop, self._every, self._check)
