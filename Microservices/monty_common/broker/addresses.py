"""Which broker address a connection tries next: MONTY_AMQP_URLS in an order of this process's own.

Every process shuffles the list once, so the connections of many gateways spread over a cluster's
nodes instead of all opening on the first. A connection starts at the current address; when it
fails or is lost, the next address is tried at once (a node that went away is left behind without
waiting), and only after a whole round of addresses failed does the caller back off.
"""

import random
from collections.abc import Sequence

from monty_common.broker.connection import redact_url

_shuffler = random.SystemRandom()  # nothing a fork shares: each process draws its own order


class BrokerAddresses:
    """The broker URLs in a shuffled order, with the one to try next and how many failed in a row."""

    def __init__(self, urls: Sequence[str], shuffle: bool = True) -> None:
        """`urls` in a random order (kept in order when `shuffle` is False); at least one."""
        if not urls:
            raise ValueError("no broker URL")
        self.order = list(urls)
        if shuffle:
            _shuffler.shuffle(self.order)
        self._current = 0
        self._failed_in_a_row = 0

    @property
    def current(self) -> str:
        """The URL to try now."""
        return self.order[self._current]

    @property
    def redacted(self) -> str:
        """The current URL without its password, for logs."""
        return redact_url(self.current)

    def failed(self) -> bool:
        """The current address failed: move to the next; True when a whole round has now failed
        (time to back off before the next round)."""
        self._advance()
        self._failed_in_a_row += 1
        if self._failed_in_a_row >= len(self.order):
            self._failed_in_a_row = 0
            return True
        return False

    def lost(self) -> None:
        """A connection that served was lost: start the next attempt at the next address."""
        self._advance()
        self._failed_in_a_row = 0

    def _advance(self) -> None:
        """Point at the next address, round and round."""
        self._current = (self._current + 1) % len(self.order)
