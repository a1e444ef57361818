"""One AMQP connection owned by one I/O thread, which request threads use through a job queue.

pika's connections are not thread-safe, and an idle BlockingConnection misses heartbeats. So each
link runs a SelectConnection's I/O loop in a thread of its own: heartbeats are serviced while the
process is idle, many requests share the connection, and the only call crossing threads is
`add_callback_threadsafe`. The thread starts on first use, so a link opens after the server forks,
and it reconnects whenever the connection is lost: to the next of MONTY_AMQP_URLS at once
(addresses.py), with capped backoff only once every address has failed in a row. What the link's
owner does on the channel (publish, take) is its `ChannelRole`; the link knows only the connection.
"""

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from typing import Any

from pika.exceptions import AMQPError

from monty_common.backoff import Backoff
from monty_common.broker.addresses import BrokerAddresses
from monty_common.broker.connection import connection_parameters, describe_error, redact_url
from monty_common.broker.errors import BrokerUnavailable
from monty_common.broker.jobs import JobQueue, Operation
from monty_common.broker.session import ChannelRole, LinkSession
from monty_common.broker.status import LinkStatus
from monty_common.broker.topology import Topology
from monty_common.settings import BrokerSettings

log = logging.getLogger(__name__)

# A connection lost sooner than this after it became ready is retried with backoff, not at once: a
# broker that accepts connections and then drops them must not make a link spin.
STEADY_SECONDS = 2.0

# Every link of this process, so a forked child can forget the threads and connections it did not inherit.
_LINKS: "weakref.WeakSet[AmqpLink]" = weakref.WeakSet()


class AmqpLink:
    """A self-healing connection with one channel, on which `topology` is declared and `role` works."""

    def __init__(
        self, settings: BrokerSettings, topology: Topology, role: ChannelRole, name: str, service: str
    ) -> None:
        """Prepare the link; nothing connects until first use."""
        self.settings = settings
        self.topology = topology
        self.name = name
        self._role = role
        self._label = f"monty {service} {name}"
        self._lock = threading.Lock()  # guards _thread, _closed and _session
        self._thread: threading.Thread | None = None
        self._closed = False
        self._session: LinkSession | None = None
        self._mismatch_told: str | None = None
        self._forget_connection()
        _LINKS.add(self)

    def _forget_connection(self) -> None:
        """Start with no thread, no connection and no queued work (at creation, and in a forked child)."""
        self._thread = None
        self._session = None
        self._status = LinkStatus(self.name)
        self._jobs = JobQueue(self._label)
        self._retry_now = threading.Event()
        # Shuffled here: in a forked child too, so each process spreads over the addresses its own way.
        self._addresses = BrokerAddresses(self.settings.broker_urls)

    # --- request threads ---------------------------------------------------------------------------

    def call(
        self,
        operation: Operation,
        timeout: float | None = None,
        still_wanted: Callable[[], bool] | None = None,
    ) -> Any:
        """Run `operation(channel, future)` on the I/O thread and wait for its future's result.

        Raises BrokerUnavailable when the link is down or the operation did not start in time.
        An operation that must not be abandoned once started (a publish on the wire) marks its
        future running; if it then does not finish in time, OutcomeUnknown is raised. `still_wanted`,
        if given, is asked while waiting (Abandoned once it says no).
        """
        deadline = time.monotonic() + (self.settings.broker_timeout if timeout is None else timeout)
        self.wait_ready(deadline)
        lost = BrokerUnavailable(f"connection to the broker lost ({self._status.last_error})")
        return self._jobs.run_and_wait(operation, deadline, lost, still_wanted)

    def post(self, operation: Operation) -> None:
        """Run `operation(channel, future)` on the I/O thread without waiting for it; nothing happens
        while no connection serves (nothing is in flight on one then)."""
        with suppress(BrokerUnavailable):
            self._jobs.submit(operation, Future(), BrokerUnavailable("no connection"))

    def wait_ready(self, deadline: float) -> None:
        """Return once the link is connected with its channel set up, or raise BrokerUnavailable."""
        self._ensure_thread()
        # The broker's address goes to the log ("broker link down"), never into answers.
        self._status.wait_ready(deadline, self._retry_now.set, "cannot reach the broker")

    @property
    def is_ready(self) -> bool:
        """Whether the link is connected with its channel set up."""
        thread = self._thread
        return self._status.ready and thread is not None and thread.is_alive()

    @property
    def is_blocked(self) -> bool:
        """Whether the broker has blocked this connection because of a resource alarm."""
        session = self._session
        return session is not None and session.blocked

    def close(self, timeout: float = 5.0) -> None:
        """Close the connection and stop the I/O thread for good: later calls are refused."""
        with self._lock:
            self._closed = True
            thread, session = self._thread, self._session
        # Requests waiting for a connection that will now never come are answered at once.
        self._status.attempt_finished(ready=False, error="the broker link is closed (the server is stopping)")
        if session is not None:
            try:
                session.close_threadsafe()
            except Exception:
                log.exception("cannot ask the broker link to close", extra={"link": self._label})
        self._retry_now.set()
        if thread is not None:
            thread.join(timeout)

    def _ensure_thread(self) -> None:
        """Start the I/O thread on first use (and again should it ever die); never after close."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._closed:
                raise BrokerUnavailable("the broker link is closed (the server is stopping)")
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name=f"amqp-{self._label}", daemon=True)
            self._thread.start()

    # --- the I/O thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        """Connect, serve, and reconnect (the next address at once, backoff after a round) until closed."""
        backoff = Backoff()
        addresses = self._addresses
        # Each address that fails is logged in the first round after the link last served; later
        # rounds of the same outage are not.
        quiet = False
        while not self._closed:
            url = addresses.current
            session = self._serve_one_connection(url)
            if self._closed:
                break
            if session is not None and session.failure is None:  # it served, then was lost
                addresses.lost()
                quiet = False
                log.warning(
                    "broker link down, reconnecting",
                    extra={"link": self._label, "broker": redact_url(url), "error": self._status.last_error},
                )
                if _served_long(session):
                    backoff.reset()  # a new outage: the next address at once
                else:  # lost right after it became ready: pace the attempts all the same
                    self._retry_now.wait(backoff.next_delay())
                    self._retry_now.clear()
                continue
            failure = session.failure if session is not None else self._status.last_error
            mismatch = session.mismatch if session is not None else None
            if mismatch is not None:
                self._tell_mismatch(mismatch.sentence())
            elif not quiet:
                log.warning(
                    "broker unreachable, trying the next address",
                    extra={"link": self._label, "broker": redact_url(url), "error": failure},
                )
            if addresses.failed():  # every address failed in a row: tell the requests, then back off
                quiet = True
                self._status.attempt_finished(ready=False, error=failure, misconfigured=mismatch is not None)
                self._retry_now.wait(backoff.next_delay())
                self._retry_now.clear()
            else:
                self._status.note_error(failure or "not connected")

    def _tell_mismatch(self, sentence: str) -> None:
        """Log, once for as long as it lasts, that an existing queue refuses the configured arguments."""
        if sentence != self._mismatch_told:
            self._mismatch_told = sentence
            log.error("broker refused the link's queues: %s", sentence, extra={"link": self._label})

    def _serve_one_connection(self, url: str) -> LinkSession | None:
        """Open one connection to `url` and serve it until it closes; the session (None when none
        could be made: its reason is in the status)."""
        with self._lock:  # close() sets _closed under it, so no connection opens after close
            if self._closed:
                return None
            try:
                session = LinkSession(
                    connection_parameters(self.settings, f"{self._label} pid {os.getpid()}", url),
                    self.topology,
                    self._role,
                    self._status,
                    self._jobs,
                    self._label,
                    redact_url(url),
                )
            except AMQPError as error:  # raised only for malformed parameters
                self._status.note_error(describe_error(error))
                return None
            self._session = session
        try:
            if session.serve():
                self._mismatch_told = None
        except Exception as error:  # a bug must not leave the process without a link
            log.exception("broker link failed", extra={"link": self._label})
            session.failure = describe_error(error)
        finally:
            with self._lock:
                self._session = None
        return session


def _served_long(session: LinkSession) -> bool:
    """Whether a lost connection had served long enough for its loss to count as a new outage."""
    return session.ready_at is not None and time.monotonic() - session.ready_at >= STEADY_SECONDS


def _forget_inherited_connections() -> None:
    """In a forked child: the parent's threads are gone and its sockets are not ours to use."""
    for link in list(_LINKS):
        link._lock = threading.Lock()  # may have been held by a thread that does not exist here
        link._forget_connection()


os.register_at_fork(after_in_child=_forget_inherited_connections)
