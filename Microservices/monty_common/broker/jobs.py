"""Operations request threads hand to a link's I/O thread, and the futures that carry their results."""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, InvalidStateError
from contextlib import suppress
from typing import Any, TypeVar

from monty_common.broker.connection import describe_error
from monty_common.broker.errors import Abandoned, BrokerUnavailable, OutcomeUnknown

log = logging.getLogger(__name__)

# How long a request whose operation the I/O thread has already started waits past its deadline.
SETTLE_GRACE = 0.2
# How often a waiting request asks whether its answer is still wanted (its client still there).
STILL_WANTED_EVERY = 0.25

T = TypeVar("T")
# Runs on the I/O thread with the link's channel; settles the future, now or from a later callback.
Operation = Callable[[Any, "Future[Any]"], None]


def _wait_for(future: "Future[T]", deadline: float, still_wanted: Callable[[], bool] | None) -> T:
    """`future`'s result by `deadline` (TimeoutError if none), checking `still_wanted` meanwhile."""
    while True:
        remaining = max(0.0, deadline - time.monotonic())
        if still_wanted is None:
            return future.result(timeout=remaining)
        try:
            return future.result(timeout=min(remaining, STILL_WANTED_EVERY))
        except TimeoutError:
            if remaining <= STILL_WANTED_EVERY:
                raise
        if not still_wanted() and future.cancel():
            raise Abandoned("the request's client went away")


def settle(future: "Future[T]", result: T) -> None:
    """Resolve `future` unless it is already settled, or its request has given up on it."""
    with suppress(InvalidStateError):
        future.set_result(result)


def fail(future: "Future[Any]", error: BaseException) -> None:
    """Fail `future` unless it is already settled, or its request has given up on it."""
    with suppress(InvalidStateError):
        future.set_exception(error)


class JobQueue:
    """Operations waiting for the I/O thread of one connection; closed whenever no connection serves.

    `wake` (the connection's `add_callback_threadsafe(drain)`) is called only for the first job of
    a batch: the I/O thread runs every queued job per wake-up.
    """

    def __init__(self, link: str) -> None:
        """An empty queue, closed until a connection opens it."""
        self._link = link
        self._lock = threading.Lock()
        self._jobs: deque[tuple[Operation, Future[Any]]] = deque()
        self._wake: Callable[[], None] | None = None

    def open(self, wake: Callable[[], None]) -> None:
        """Accept jobs; `wake` asks the I/O thread to run them."""
        with self._lock:
            self._wake = wake

    def close(self, error: BrokerUnavailable) -> None:
        """Refuse new jobs and fail the queued ones with `error`."""
        with self._lock:
            self._wake = None
        self._fail_queued(error)

    def _fail_queued(self, error: BrokerUnavailable) -> None:
        """Fail every queued job with `error`."""
        with self._lock:
            pending = list(self._jobs)
            self._jobs.clear()
        for _operation, future in pending:
            fail(future, error)

    def submit(self, operation: Operation, future: "Future[Any]", closed_error: BrokerUnavailable) -> None:
        """Queue `operation` for the I/O thread; raise `closed_error` if no connection serves."""
        with self._lock:
            wake = self._wake
            if wake is None:
                raise closed_error
            first = not self._jobs
            self._jobs.append((operation, future))
        if not first:
            return
        # Outside the lock: waking the loop is a system call, and request threads queue on the lock.
        try:
            wake()
        except Exception as error:
            # Nobody will run what is queued: fail it now rather than at each request's deadline.
            # The next job wakes the loop again.
            log.exception("cannot wake the broker link's I/O thread", extra={"link": self._link})
            reason = describe_error(error)
            self._fail_queued(BrokerUnavailable(f"the broker link's I/O thread cannot be woken ({reason})"))

    def run_and_wait(
        self,
        operation: Operation,
        deadline: float,
        closed_error: BrokerUnavailable,
        still_wanted: Callable[[], bool] | None = None,
    ) -> Any:
        """Submit `operation` and wait until `deadline` for its result (from a request thread).

        Raises BrokerUnavailable when it did not start in time. An operation that must not be
        abandoned once started (a publish on the wire) marks its future running; if it then does
        not finish in time, OutcomeUnknown is raised. With `still_wanted`, the wait is given up
        (Abandoned) as soon as it says the answer is no longer wanted.
        """
        future: Future[Any] = Future()
        self.submit(operation, future, closed_error)
        try:
            return _wait_for(future, deadline, still_wanted)
        except CancelledError:  # the I/O thread found the answer no longer wanted
            raise Abandoned("the request's client went away") from None
        except TimeoutError:
            if future.cancel():
                raise BrokerUnavailable("the broker did not answer in time") from None
        # The I/O thread has started the operation: its answer may be a moment away.
        try:
            return future.result(timeout=SETTLE_GRACE)
        except TimeoutError:
            raise OutcomeUnknown("the broker did not answer in time") from None

    def run(self, channel: Any) -> None:
        """Run every queued job on `channel` (on the I/O thread)."""
        while True:
            with self._lock:
                if not self._jobs:
                    return
                operation, future = self._jobs.popleft()
            if future.cancelled():
                continue  # its request has already been answered
            try:
                operation(channel, future)
            except Exception as error:
                log.exception("broker operation failed", extra={"link": self._link})
                fail(future, BrokerUnavailable(f"broker operation failed ({describe_error(error)})"))
