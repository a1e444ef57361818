"""How many bytes of leased messages one process may hold, shared fairly by concurrent receives."""

import threading
from collections.abc import Callable


class LeaseCapacityExceeded(Exception):
    """The process holds as many leased bytes as it may: a receive must wait for acks and releases."""


class LeaseBudget:
    """Grants each receive a byte budget out of what is neither held nor granted to another receive.

    A receive takes messages until their bodies pass its grant (the one passing it included), so the
    process holds at most its limit plus one message per concurrent receive.
    """

    def __init__(self, limit: int, held: Callable[[], int]) -> None:
        """`held` says how many bytes the process's leases hold now."""
        self._limit = limit
        self._held = held
        self._lock = threading.Lock()  # guards _granted
        self._granted = 0

    def grant(self, wanted: int) -> int:
        """Reserve up to `wanted` bytes for one receive (LeaseCapacityExceeded if none are left)."""
        with self._lock:
            room = self._limit - self._held() - self._granted
            if room <= 0:
                raise LeaseCapacityExceeded("this process holds as many leased bytes as it may")
            granted = min(room, wanted)
            self._granted += granted
            return granted

    def give_back(self, granted: int) -> None:
        """End a receive's reservation (what it leased is counted as held by then)."""
        with self._lock:
            self._granted -= granted
