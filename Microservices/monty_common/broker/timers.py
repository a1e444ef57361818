"""A callback an I/O loop runs after a delay unless it is cancelled first: the one timer idiom."""

from collections.abc import Callable
from typing import Any


class Timer:
    """Runs `callback` on the I/O loop after `delay` seconds; `cancel` (on that loop) stops it."""

    def __init__(self, loop: Any, delay: float, callback: Callable[[], None]) -> None:
        """Start the timer on `loop` (a pika I/O loop, from its own thread)."""
        self._loop = loop
        self.callback = callback
        self._handle: Any = loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        """The delay is over."""
        self._handle = None
        self.callback()

    def cancel(self) -> None:
        """Stop the timer if it has not fired; safe to call again."""
        if self._handle is not None:
            self._loop.remove_timeout(self._handle)
            self._handle = None
