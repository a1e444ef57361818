"""What request threads know of a link's connection: ready or not, why not, and when it last failed."""

import threading
import time
from collections.abc import Callable

from monty_common import metrics
from monty_common.broker.errors import BrokerUnavailable

# A request arriving this soon after a failed attempt is answered with that failure at once, so a
# burst of requests during an outage neither waits nor turns into a burst of connection attempts.
RECENT_FAILURE = 0.25


class LinkStatus:
    """The outcome of a link's connection attempts, shared by its I/O thread and request threads."""

    def __init__(self, link: str = "") -> None:
        """Not connected yet; `link` names the link in the metrics (none when empty)."""
        self._link = link
        self._been_ready = False
        self._changed = threading.Condition()
        self.ready = False
        self.last_error = "not connected yet"
        # The last round failed because the broker refused the configuration (not unreachable).
        self.misconfigured = False
        self._attempts = 0
        self._failed_at = -RECENT_FAILURE
        if link:
            self._list_down()

    def _list_down(self) -> None:
        """Show the link down, and no reconnect yet, before its first attempt: an alert on a link down
        also fires for one that never connected."""
        counted = metrics.instruments()
        metrics.series(counted.broker_link_up, self._link).set(0)
        metrics.series(counted.broker_reconnects, self._link)

    def attempt_finished(
        self, ready: bool, error: str | None = None, served: bool = False, misconfigured: bool = False
    ) -> None:
        """Record an attempt's outcome (or a served connection's loss) and wake the waiting requests."""
        with self._changed:
            self.misconfigured = misconfigured
            # Losing a connection that served is not a failed attempt: the next request retries.
            if not ready and not served:
                self._failed_at = time.monotonic()
            if self._link and ready != self.ready:
                self._count_change(ready)
            self.ready = ready
            if error is not None:
                self.last_error = error
            self._attempts += 1
            self._changed.notify_all()

    def _count_change(self, ready: bool) -> None:
        """Show the link up or down, and count a connection ready again after a loss."""
        counted = metrics.instruments()
        metrics.series(counted.broker_link_up, self._link).set(1 if ready else 0)
        if ready and self._been_ready:
            metrics.add(counted.broker_reconnects, self._link)
        self._been_ready = self._been_ready or ready

    def note_error(self, error: str) -> None:
        """One address failed, and others remain to try: remember why, and let requests wait on."""
        with self._changed:
            self.last_error = error

    def wait_ready(self, deadline: float, retry_now: Callable[[], None], unreachable: str) -> None:
        """Return once ready; else ask for an attempt now and wait for its outcome until `deadline`.

        Raises BrokerUnavailable("`unreachable`: <last error>") when the link is not ready in time, or
        at once when an attempt failed a moment ago.
        """
        with self._changed:
            if self.ready:
                return
            if time.monotonic() - self._failed_at >= RECENT_FAILURE:
                seen = self._attempts
                retry_now()  # skip the backoff: a request is waiting
                while not self.ready and self._attempts == seen:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._changed.wait(remaining)
            if not self.ready:
                if self.misconfigured:
                    raise BrokerUnavailable(self.last_error)
                raise BrokerUnavailable(f"{unreachable}: {self.last_error}")
