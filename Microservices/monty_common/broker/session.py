"""One connection of a link, on its I/O thread: opened, its channel set up, serving jobs until it closes."""

import logging
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any, Protocol

import pika
from pika.exceptions import ChannelClosedByBroker

from monty_common.broker.connection import describe_error, without_address
from monty_common.broker.errors import BrokerUnavailable
from monty_common.broker.jobs import JobQueue
from monty_common.broker.queue_types import QueueMismatch, queue_mismatch
from monty_common.broker.silence import SilenceWatch
from monty_common.broker.status import LinkStatus
from monty_common.broker.topology import Topology

log = logging.getLogger(__name__)


class ChannelRole(Protocol):
    """What a link's owner does with each new channel, and with its work in flight when it is lost."""

    def prepare(self, channel: Any, done: Callable[[], None]) -> None:
        """Set up `channel` after the topology is declared (I/O thread), then call `done`."""

    def lost(self, reason: str) -> None:
        """Fail whatever the connection that just closed had in flight (I/O thread)."""


class LinkSession:
    """A SelectConnection and its one channel; every callback runs on the thread running `serve`.

    A connection that never became ready leaves `failure` (and `mismatch`, when an existing queue's
    arguments refused the declaration) for the link, which decides whether another address is tried
    before requests are told; the loss of one that served is told to requests at once.
    """

    def __init__(
        self,
        parameters: pika.URLParameters,
        topology: Topology,
        role: ChannelRole,
        status: LinkStatus,
        jobs: JobQueue,
        name: str,
        address: str = "",
    ) -> None:
        """Start opening the connection (raises AMQPError only for malformed parameters)."""
        self._name = name
        self._address = address  # the broker's URL without its password, for logs
        self._parameters = parameters
        self._topology = topology
        self._role = role
        self._status = status
        self._jobs = jobs
        self.blocked = False
        self.failure: str | None = None
        self.ready_at: float | None = None  # time.monotonic() when it became ready
        self.mismatch: QueueMismatch | None = None
        self._served = False
        self._channel_error: str | None = None
        self._silence: SilenceWatch | None = None
        self._conn: Any = pika.SelectConnection(
            parameters,
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_closed,
        )

    def serve(self) -> bool:
        """Run the I/O loop until the connection closes; True if it ever became ready."""
        conn = self._conn
        try:
            conn.ioloop.start()
        finally:
            if not conn.is_closed:
                self._abandon()  # an error escaped the loop with the connection still up
            self._jobs.close(BrokerUnavailable(f"connection to the broker lost ({self._status.last_error})"))
            conn.ioloop.close()
        return self._served

    def close_threadsafe(self) -> None:
        """Ask the I/O thread to close the connection (from any thread)."""
        self._conn.ioloop.add_callback_threadsafe(self._close)

    def _close(self) -> None:
        """Close the connection; also aborts one still opening."""
        if self._conn.is_closing or self._conn.is_closed:
            return
        try:
            self._conn.close()
        except pika.exceptions.AMQPError:
            self._conn.ioloop.stop()

    def _abandon(self) -> None:
        """Close the connection and run its loop until it is closed, for two seconds at most."""
        with suppress(Exception):
            if not self._conn.is_closing:
                self._conn.close()
            self._conn.ioloop.call_later(2.0, self._conn.ioloop.stop)
            self._conn.ioloop.start()

    def _on_open(self, conn: Any) -> None:
        """Watch for silence and resource alarms, and open the channel."""
        self._silence = SilenceWatch(conn, float(self._parameters.heartbeat or 0) or 60.0)
        conn.add_on_connection_blocked_callback(lambda _conn, _frame: self._set_blocked(True))
        conn.add_on_connection_unblocked_callback(lambda _conn, _frame: self._set_blocked(False))
        conn.channel(on_open_callback=self._on_channel_open)

    def _set_blocked(self, blocked: bool) -> None:
        """The broker blocked this connection because of a resource alarm, or the alarm cleared."""
        self.blocked = blocked
        if blocked:
            log.warning("broker blocked the connection", extra={"link": self._name})
        else:
            log.info("broker unblocked the connection", extra={"link": self._name})

    def _on_open_error(self, conn: Any, error: BaseException) -> None:
        """Record why the broker could not be reached (the link's log names the broker beside it)."""
        self.failure = self._public(error)
        conn.ioloop.stop()

    def _public(self, error: BaseException) -> str:
        """Why, in words that reach clients: without the broker's host or user name."""
        return without_address(describe_error(error), self._parameters)

    def _on_channel_open(self, channel: Any) -> None:
        """Declare the topology, let the role set the channel up, then take jobs."""
        channel.add_on_close_callback(self._on_channel_closed)
        self._topology.declare(channel, lambda: self._role.prepare(channel, lambda: self._on_ready(channel)))

    def _on_ready(self, channel: Any) -> None:
        """Accept jobs and tell the waiting requests."""
        self._served = True
        self.ready_at = time.monotonic()
        loop = self._conn.ioloop
        self._jobs.open(lambda: loop.add_callback_threadsafe(lambda: self._jobs.run(channel)))
        self._status.attempt_finished(ready=True)
        log.info("broker link ready", extra={"link": self._name, "broker": self._address})

    def _on_channel_closed(self, _channel: Any, reason: BaseException) -> None:
        """A channel error (e.g. a declaration refused) resets the whole connection."""
        self._channel_error = describe_error(reason)
        if isinstance(reason, ChannelClosedByBroker):
            self.mismatch = queue_mismatch(reason.reply_code, reason.reply_text)
            if self.mismatch is not None:
                self._channel_error = self.mismatch.sentence()
        if self._conn.is_open:
            log.warning("broker channel closed", extra={"link": self._name, "error": self._channel_error})
            self._conn.close()

    def _on_closed(self, conn: Any, reason: BaseException) -> None:
        """Stop taking jobs, fail what the role has in flight, and leave the loop to reconnect."""
        self.blocked = False
        if self._silence is not None:
            self._silence.stop()
        # When we closed the connection because of a channel error, that error is the reason.
        why = self._channel_error or self._public(reason)
        self._jobs.close(BrokerUnavailable(f"connection to the broker lost ({why})"))
        self._role.lost(f"connection to the broker lost ({why})")
        if self._served:
            self._status.attempt_finished(ready=False, error=why, served=True)
        else:
            self.failure = why
        conn.ioloop.stop()
