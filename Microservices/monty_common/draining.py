"""A server process's drain on SIGTERM, as its app sees it: readiness to give up, waits to end.

The server (gunicorn_worker.py) moves the drain on: first `begin` (readiness answers 503 so load
balancers stop sending, while requests are still served), MONTY_DRAIN_SECONDS later `stop` (no new
connection is accepted: whatever waits, long polls, is answered now with what it has).
"""

import logging
from collections.abc import Callable

from monty_common.extension import Extension

log = logging.getLogger(__name__)

DRAIN_KEY = "monty.drain"


class Drain:
    """Where a server process is in its stop: serving, draining, then stopping."""

    def __init__(self, seconds: float) -> None:
        """Serving; a drain, once begun, lasts `seconds` before the stop."""
        self.seconds = seconds
        self.draining = False
        self.stopping = False
        self._on_stop: list[Callable[[], None]] = []

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Run `callback` at the stop; it must not block (it runs on the server's event loop)."""
        self._on_stop.append(callback)

    def begin(self) -> None:
        """Not ready from now on; requests are still served."""
        self.draining = True

    def stop(self) -> None:
        """No new connection comes: end every wait now (once)."""
        self.draining = True
        if self.stopping:
            return
        self.stopping = True
        for callback in self._on_stop:
            try:
                callback()
            except Exception:  # the others must still run, and the server must still stop
                log.exception("a stop callback failed")


# Each app's drain, given by new_service_app.
server_drain = Extension[Drain](DRAIN_KEY)


def drain_of(app: object) -> Drain | None:
    """The drain of `app`, None for an app without one (any WSGI app may be served)."""
    extensions = getattr(app, "extensions", None)
    drain = extensions.get(DRAIN_KEY) if isinstance(extensions, dict) else None
    return drain if isinstance(drain, Drain) else None
