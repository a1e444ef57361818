"""Counts taken on request threads and written to the shared metric files by one thread per process.

In multiprocess mode every prometheus-client count takes one lock of the process and writes a
memory-mapped file; sixteen request threads counting a few times per request queue on that lock,
and each hand-over costs more than the count (measured: about 45 µs per request instead of 6). So
under gunicorn a request thread only appends its counts to a queue, and a thread of the process
writes them within WRITE_INTERVAL; a scrape writes its own process's first.
"""

import atexit
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

# Longest a count waits before /metrics shows it.
WRITE_INTERVAL = 0.05


class MetricWriter:
    """Applies counts at once, or, once `defer()` was called, from a thread of each process."""

    def __init__(self) -> None:
        """Apply counts at once until deferring is chosen."""
        self._deferred = False
        self._pending: deque[tuple[Callable[[float], None], float]] = deque()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()
        os.register_at_fork(after_in_child=self._after_fork)
        atexit.register(self.write_pending)

    def defer(self) -> None:
        """Queue counts from now on (multiprocess mode; set in the master, before it forks)."""
        self._deferred = True

    def apply(self, count: Callable[[float], None], amount: float) -> None:
        """Have `count(amount)` done: now, or by the writing thread within WRITE_INTERVAL."""
        if not self._deferred:
            count(amount)
            return
        self._pending.append((count, amount))  # deque.append is atomic: no lock
        if self._thread is None:
            self._start()

    def write_pending(self) -> None:
        """Apply every queued count (the writing thread, a scrape, or the process's exit); a count
        that fails is logged and dropped, the others still written."""
        pending = self._pending
        while True:
            try:
                count, amount = pending.popleft()
            except IndexError:
                return
            try:
                count(amount)
            except Exception:  # a metric's own refusal must not stop every later count
                log.exception("metrics: a count could not be written")

    def _start(self) -> None:
        """Start this process's writing thread, once."""
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self._write_forever, name="monty-metrics", daemon=True)
                self._thread.start()

    def _write_forever(self) -> None:
        """Write the queued counts every WRITE_INTERVAL."""
        while True:
            time.sleep(WRITE_INTERVAL)
            self.write_pending()

    def _after_fork(self) -> None:
        """A forked child has no writing thread yet, and counts nothing of its parent's."""
        self._pending = deque()
        self._thread = None
        self._starting = threading.Lock()


WRITER = MetricWriter()
