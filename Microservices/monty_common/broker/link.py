"""One AMQP connection owned by one I/O thread, which request threads use through a job queue.

pika's connections are not thread-safe, and an idle BlockingConnection misses heartbeats. So each
link runs a SelectConnection's I/O loop in a thread of its own: heartbeats are serviced while the
process is idle, many requests share the connection, and the only call crossing threads is
`add_callback_threadsafe`. The thread starts on first use, so a link is opened after the server
forks, and it reconnects with capped backoff whenever the connection is lost.
"""

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from contextlib import suppress
from typing import Any, TypeVar

import pika
from pika.exceptions import AMQPError

from monty_common.broker.connection import connection_parameters, describe_error, redact_url
from monty_common.broker.errors import BrokerUnavailable, OutcomeUnknown
from monty_common.broker.topology import Topology
from monty_common.settings import BrokerSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = tuple[Callable[[Any, "Future[Any]"], None], "Future[Any]"]

INITIAL_BACKOFF = 0.25
MAX_BACKOFF = 5.0
# A request arriving this soon after a failed attempt is answered with that failure at once, so a
# burst of requests during an outage neither waits nor turns into a burst of connection attempts.
RECENT_FAILURE = 0.25
# How long a request whose operation the I/O thread has already started waits past its deadline.
SETTLE_GRACE = 0.2


class AmqpLink:
    """A self-healing connection with one channel on which `topology` is declared."""

    role = "link"

    def __init__(self, settings: BrokerSettings, topology: Topology, service: str) -> None:
        """Prepare the link; nothing connects until first use."""
        self.settings = settings
        self.topology = topology
        self.service = service
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._reset_state()

    def _reset_state(self) -> None:
        """Forget everything about a previous thread (also after a fork)."""
        self._state = threading.Condition()
        self._ready = False
        self._attempts = 0
        self._failed_at = -RECENT_FAILURE
        self._last_error = "not connected yet"
        self._channel_error: str | None = None
        self._stopping = False
        self._wake = threading.Event()
        self._jobs_lock = threading.Lock()
        self._jobs: deque[Job] = deque()
        self._conn: Any = None
        self._channel: Any = None
        self._blocked = False
        self._became_ready = False

    # --- request-thread side -------------------------------------------------------------------

    def call(self, operation: Callable[[Any, "Future[T]"], None], timeout: float | None = None) -> T:
        """Run `operation(channel, future)` on the I/O thread and wait for its future's result.

        Raises BrokerUnavailable when the link is down or the operation did not start in time.
        An operation that must not be abandoned once started (a publish on the wire) marks its
        future running; if it then does not finish in time, OutcomeUnknown is raised.
        """
        deadline = time.monotonic() + (self.settings.broker_timeout if timeout is None else timeout)
        self.wait_ready(deadline)
        future: Future[T] = Future()
        with self._jobs_lock:
            conn = self._conn
            if not self._ready or conn is None:
                raise BrokerUnavailable(f"connection to the broker lost ({self._last_error})")
            # The I/O thread drains every queued job per wake-up: wake it only for the first.
            wake = not self._jobs
            self._jobs.append((operation, future))
        if wake:
            # Outside the lock: waking the loop is a system call, and request threads queue on the
            # lock behind it. Should the loop be closing, the job it will not run is failed with
            # the others left when it stops.
            with suppress(Exception):
                conn.ioloop.add_callback_threadsafe(self._run_jobs)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            if future.cancel():
                raise BrokerUnavailable("the broker did not answer in time") from None
        # The I/O thread has started the operation: its answer may be a moment away.
        try:
            return future.result(timeout=SETTLE_GRACE)
        except TimeoutError:
            raise OutcomeUnknown("the broker did not answer in time") from None

    def wait_ready(self, deadline: float) -> None:
        """Return once the link is connected with its topology declared, or raise BrokerUnavailable."""
        self._ensure_thread()
        with self._state:
            if self._ready:
                return
            if time.monotonic() - self._failed_at < RECENT_FAILURE:
                raise self._unreachable()
            seen = self._attempts
            # Skip the backoff: a request is waiting, so try now.
            self._wake.set()
            while not self._ready and self._attempts == seen:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._state.wait(remaining)
            if not self._ready:
                raise self._unreachable()

    def _unreachable(self) -> BrokerUnavailable:
        """The error for requests while the link is down."""
        return BrokerUnavailable(
            f"cannot reach the broker at {redact_url(self.settings.amqp_url)}: {self._last_error}"
        )

    @property
    def is_ready(self) -> bool:
        """Whether the link is connected with its topology declared."""
        return self._ready and self._thread is not None and self._thread.is_alive()

    @property
    def is_blocked(self) -> bool:
        """Whether the broker has blocked this connection because of a resource alarm."""
        return self._blocked

    def close(self, timeout: float = 5.0) -> None:
        """Close the connection and stop the I/O thread."""
        thread = self._thread
        if thread is None or self._pid != os.getpid():
            return
        with self._jobs_lock:
            # Under the lock that guards _conn, so a connection being opened now sees it.
            self._stopping = True
            conn = self._conn
            if conn is not None:
                conn.ioloop.add_callback_threadsafe(self._close_connection)
        self._wake.set()
        thread.join(timeout)
        self._thread = None

    def _thread_runs(self) -> bool:
        """Whether this process has a live I/O thread."""
        return self._thread is not None and self._pid == os.getpid() and self._thread.is_alive()

    def _ensure_thread(self) -> None:
        """Start the I/O thread on first use in this process (and again should it ever die)."""
        if self._thread_runs():
            return
        if self._pid != os.getpid():
            # A lock copied by fork may have been held by a thread that does not exist here.
            self._start_lock = threading.Lock()
        with self._start_lock:
            if self._thread_runs():
                return
            self._reset_state()
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, name=f"amqp-{self.service}-{self.role}", daemon=True
            )
            self._thread.start()

    # --- I/O-thread side --------------------------------------------------------------------------

    def _run(self) -> None:
        """Connect, serve, and reconnect with capped backoff until closed."""
        backoff = INITIAL_BACKOFF
        failures = 0
        while not self._stopping:
            try:
                connected = self._serve_one_connection()
            except Exception as error:  # a bug must not leave the process without a link
                log.exception("broker link failed", extra={"link": self.role, "service": self.service})
                self._attempt_finished(ready=False, error=describe_error(error))
                connected = False
            if connected:
                backoff, failures = INITIAL_BACKOFF, 0
            if self._stopping:
                break
            failures += 1
            if failures == 1:
                log.warning(
                    "broker link down, reconnecting",
                    extra={"link": self.role, "service": self.service, "error": self._last_error},
                )
            self._wake.wait(backoff)
            self._wake.clear()
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _serve_one_connection(self) -> bool:
        """Open one connection and run its I/O loop until it closes; True if it ever became ready."""
        name = f"monty {self.service} {self.role} pid {os.getpid()}"
        self._became_ready = False
        self._channel_error = None
        with self._jobs_lock:
            if self._stopping:
                return False
            try:
                conn = pika.SelectConnection(
                    connection_parameters(self.settings, name),
                    on_open_callback=self._on_connection_open,
                    on_open_error_callback=self._on_connection_open_error,
                    on_close_callback=self._on_connection_closed,
                )
            except AMQPError as error:  # raised only for malformed parameters
                self._attempt_finished(ready=False, error=describe_error(error))
                return False
            self._conn = conn
        try:
            conn.ioloop.start()
        finally:
            if not conn.is_closed:
                # An error escaped the loop with the connection still up: close it properly.
                self._abandon(conn)
            with self._jobs_lock:
                self._conn = None
                self._channel = None
                pending = list(self._jobs)
                self._jobs.clear()
            for _operation, future in pending:
                fail(future, BrokerUnavailable(f"connection to the broker lost ({self._last_error})"))
            conn.ioloop.close()
        return self._became_ready

    @staticmethod
    def _abandon(conn: Any) -> None:
        """Close `conn` and run its loop until it is closed, for two seconds at most."""
        with suppress(Exception):
            if not conn.is_closing:
                conn.close()
            conn.ioloop.call_later(2.0, conn.ioloop.stop)
            conn.ioloop.start()

    def _attempt_finished(self, ready: bool, error: str | None = None) -> None:
        """Publish the outcome of a connection attempt to waiting request threads."""
        with self._state:
            # Losing a connection that served is not a failed attempt: the next request retries.
            if not ready and not self._became_ready:
                self._failed_at = time.monotonic()
            self._ready = ready
            if error is not None:
                self._last_error = error
            self._attempts += 1
            self._state.notify_all()
        if ready:
            self._became_ready = True
            log.info("broker link ready", extra={"link": self.role, "service": self.service})

    def _on_connection_open(self, conn: Any) -> None:
        """Open the link's channel."""
        conn.add_on_connection_blocked_callback(self._on_blocked)
        conn.add_on_connection_unblocked_callback(self._on_unblocked)
        conn.channel(on_open_callback=self._on_channel_open)

    def _on_connection_open_error(self, conn: Any, error: BaseException) -> None:
        """Record why the broker could not be reached."""
        self._attempt_finished(ready=False, error=describe_error(error))
        conn.ioloop.stop()

    def _on_connection_closed(self, conn: Any, reason: BaseException) -> None:
        """Mark the link down, fail what waits on it, and leave the I/O loop to reconnect."""
        self._blocked = False
        self._channel = None
        # When we closed the connection because of a channel error, that error is the reason.
        why = self._channel_error or describe_error(reason)
        self._on_link_lost(f"connection to the broker lost ({why})")
        self._attempt_finished(ready=False, error=why)
        conn.ioloop.stop()

    def _on_channel_open(self, channel: Any) -> None:
        """Declare the topology, then let the role prepare the channel."""
        channel.add_on_close_callback(self._on_channel_closed)
        self.topology.declare(
            channel, lambda: self._prepare_channel(channel, lambda: self._on_ready(channel))
        )

    def _on_ready(self, channel: Any) -> None:
        """The channel is prepared: accept jobs."""
        self._channel = channel
        self._attempt_finished(ready=True)
        self._run_jobs()

    def _on_channel_closed(self, channel: Any, reason: BaseException) -> None:
        """A channel error (e.g. a declaration refused) resets the whole connection."""
        self._channel_error = describe_error(reason)
        conn = self._conn
        if conn is not None and conn.is_open:
            log.warning("broker channel closed", extra={"link": self.role, "error": self._channel_error})
            conn.close()

    def _on_blocked(self, _conn: Any, _frame: Any) -> None:
        """The broker raised a resource alarm and stopped reading from this connection."""
        self._blocked = True
        log.warning("broker blocked the connection", extra={"link": self.role})

    def _on_unblocked(self, _conn: Any, _frame: Any) -> None:
        """The alarm cleared."""
        self._blocked = False
        log.info("broker unblocked the connection", extra={"link": self.role})

    def _close_connection(self) -> None:
        """Close on request of `close()`."""
        conn = self._conn
        if conn is None or conn.is_closing or conn.is_closed:
            return
        try:
            conn.close()  # also aborts a connection still opening
        except AMQPError:
            conn.ioloop.stop()

    def _run_jobs(self) -> None:
        """Run the queued jobs on the channel."""
        channel = self._channel
        if channel is None:
            return
        while True:
            with self._jobs_lock:
                if not self._jobs:
                    return
                operation, future = self._jobs.popleft()
            if future.cancelled():
                continue  # its request has already been answered
            try:
                operation(channel, future)
            except Exception as error:  # the error belongs to the waiting request
                fail(future, BrokerUnavailable(f"broker operation failed ({describe_error(error)})"))

    # --- for roles ----------------------------------------------------------------------------------

    def _prepare_channel(self, channel: Any, done: Callable[[], None]) -> None:
        """Set the channel up for this role after the topology is declared, then call `done`."""
        done()

    def _on_link_lost(self, reason: str) -> None:
        """Fail whatever the role still has in flight."""


def fail(future: "Future[Any]", error: BaseException) -> None:
    """Fail `future` unless it is already settled, or its request has given up on it."""
    # Its request thread may have cancelled it a moment ago.
    with suppress(InvalidStateError):
        future.set_exception(error)


def settle(future: "Future[T]", result: T) -> None:
    """Resolve `future` unless it is already settled, or its request has given up on it."""
    with suppress(InvalidStateError):
        future.set_result(result)
