"""Which broker address a connection tries next: MONTY_AMQP_URLS in an order of this process's own.

Every process shuffles the list once, so the connections of many gateways spread over a cluster's
nodes instead of all opening on the first. A connection starts at the current address; when it
fails or is lost, the next address is tried at once (a node that went away is left behind without
waiting), and only after a whole round of addresses failed does the caller back off.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import pika

from monty_common.broker.connection import (
    CONNECT_ERRORS,
    connection_parameters,
    describe_error,
    redact_url,
    without_address,
)
from monty_common.settings import BrokerSettings

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


@dataclass(frozen=True)
class AddressFailure:
    """Why one address did not answer: for logs (naming the broker) and for clients (without it)."""

    url: str  # without its password
    reason: str
    public: str


class NoAddressAnswered(Exception):
    """No broker address opened a connection; one failure per address tried, in order."""

    def __init__(self, failures: list[AddressFailure]) -> None:
        """`failures`: at least one."""
        super().__init__("; ".join(f"{failure.url}: {failure.reason}" for failure in failures))
        self.failures = failures

    @property
    def public(self) -> str:
        """Why, in words that reach clients: the last address's reason, without the broker's name."""
        return self.failures[-1].public


class Opened(NamedTuple):
    """A connection `connect_blocking` opened, to which URL, with which parameters."""

    connection: pika.BlockingConnection
    url: str
    parameters: pika.URLParameters
    # The addresses tried before it, which did not answer.
    failures: list[AddressFailure]


def connect_blocking(settings: BrokerSettings, name: str, addresses: BrokerAddresses) -> Opened:
    """A BlockingConnection to the first address that answers, from the current one round the list
    (each tried once); raises NoAddressAnswered when none does."""
    failures: list[AddressFailure] = []
    for _ in addresses.order:
        url = addresses.current
        parameters = connection_parameters(settings, name, url)
        try:
            return Opened(pika.BlockingConnection(parameters), url, parameters, failures)
        except CONNECT_ERRORS as error:
            reason = describe_error(error)
            failures.append(AddressFailure(redact_url(url), reason, without_address(reason, parameters)))
            addresses.failed()
    raise NoAddressAnswered(failures)
