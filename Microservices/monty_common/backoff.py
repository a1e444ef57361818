"""Capped exponential backoff: how long to wait before the next attempt at something that keeps failing."""

INITIAL_DELAY = 0.25
MAX_DELAY = 5.0


class Backoff:
    """Delays of 0.25 s, 0.5 s, 1 s ... up to 5 s between attempts; back to the start after a success."""

    def __init__(self, initial: float = INITIAL_DELAY, cap: float = MAX_DELAY) -> None:
        """The first delay and the largest."""
        self._initial = initial
        self._cap = cap
        self._next = initial

    def next_delay(self) -> float:
        """The delay before the next attempt (each one twice the last, up to the cap)."""
        delay = self._next
        self._next = min(delay * 2, self._cap)
        return delay

    def reset(self) -> None:
        """An attempt succeeded: the next outage starts from the first delay."""
        self._next = self._initial
