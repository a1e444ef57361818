"""The auth service's public keys as one process keeps them: fetched from its JWKS, refreshed when
they age or a token names a key not seen yet, and kept through an outage of the auth service for a
bounded time."""

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWKClient, PyJWKSet

from monty_common.backoff import Backoff
from monty_common.metrics import add, instruments

log = logging.getLogger(__name__)

# The longest pause between two fetch attempts while the auth service stays unreachable.
MAX_RETRY_DELAY = 30.0


class UnknownKey(Exception):
    """The key set, fetched just now or too recently to fetch again, has no key with this id."""


class KeySetUnavailable(Exception):
    """No key set fetched recently enough to trust, and the auth service cannot give one now."""


@dataclass(frozen=True)
class KeySetTimes:
    """How long fetched keys are used, how often the key set may be fetched, how long it lasts an outage."""

    # Keys are fetched again once they are this old: a key removed from the JWKS stops being
    # accepted within this time (while the auth service answers).
    lifespan: float = 300.0
    # The fewest seconds between two fetches, whatever asks for them (tokens naming unknown keys
    # included): invented key ids cannot make us fetch the key set more often than this.
    min_interval: float = 1.0
    # While the auth service cannot be reached, the keys last fetched are still used until they
    # are this old; then tokens cannot be checked (503) until it answers again.
    outage_grace: float = 3600.0


class PublishedKeys:
    """The public keys of the JWKS at a URL, one fetch at a time, shared by a process's requests.

    PyJWT's client only fetches and parses: the caching here adds what it lacks, a prompt fetch
    for a new key id, old keys kept through an outage, and backoff between failed fetches.
    """

    def __init__(self, jwks_url: str, times: KeySetTimes, timeout: float = 2.0) -> None:
        """Nothing is fetched until a token needs a key."""
        self._client = PyJWKClient(jwks_url, cache_jwk_set=False, timeout=timeout)
        self._times = times
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        # When the keys were last fetched (monotonic), and whether the last attempt failed.
        self._fetched_at: float | None = None
        self._last_attempt_failed = False
        # No attempt before this moment; the fetch in progress, which others may wait for.
        self._next_attempt_at = 0.0
        self._fetching: threading.Event | None = None
        self._backoff = Backoff(initial=times.min_interval, cap=max(MAX_RETRY_DELAY, times.min_interval))

    def key(self, kid: str) -> Any:
        """The public key named `kid`: UnknownKey if the key set has none, KeySetUnavailable if no
        key set can be trusted now."""
        with self._lock:
            key = self._keys.get(kid)
            age = self._age()
            if key is not None and age < self._times.lifespan:
                return key
            fetch = self._start_fetch()
            waiting = self._fetching if key is None and fetch is None else None
        if fetch is not None:
            self._fetch(fetch)
        elif waiting is not None:
            # A fetch in progress may bring the key: wait for it rather than refuse a good token.
            waiting.wait()
        with self._lock:
            return self._usable(kid)

    def _age(self) -> float:
        """Seconds since the keys were last fetched (infinite before the first fetch)."""
        return float("inf") if self._fetched_at is None else time.monotonic() - self._fetched_at

    def _start_fetch(self) -> threading.Event | None:
        """Claim the next fetch if none is in progress and the pause after the last one is over
        (called holding the lock); the event that marks its end, or None."""
        if self._fetching is not None or time.monotonic() < self._next_attempt_at:
            return None
        self._fetching = threading.Event()
        return self._fetching

    def _fetch(self, done: threading.Event) -> None:
        """Fetch and parse the key set; keep the old keys if that fails, and pause before the next try."""
        try:
            keys = self._read()
        except (jwt.PyJWKClientError, jwt.PyJWKSetError, ValueError) as error:
            log.warning("cannot fetch the signing keys: %s", error)
            keys = None
        with self._lock:
            now = time.monotonic()
            if keys is None:
                self._last_attempt_failed = True
                self._next_attempt_at = now + self._backoff.next_delay()
            else:
                self._keys, self._fetched_at, self._last_attempt_failed = keys, now, False
                self._backoff.reset()
                self._next_attempt_at = now + self._times.min_interval
            self._fetching = None
        add(instruments().jwks_fetches, "failed" if keys is None else "ok")
        done.set()

    def _read(self) -> dict[str, Any]:
        """The signing keys of the JWKS, by key id (an error if it holds none)."""
        key_set = PyJWKSet.from_dict(self._client.fetch_data())
        keys = {
            key.key_id: key.key for key in key_set.keys if key.key_id and key.public_key_use in (None, "sig")
        }
        if not keys:
            raise ValueError("the JWKS holds no signing key with an id")
        return keys

    def _usable(self, kid: str) -> Any:
        """The key named `kid` if the keys are young enough to trust (called holding the lock)."""
        age = self._age()
        if age >= self._times.outage_grace or (self._last_attempt_failed and kid not in self._keys):
            # No key set to trust, or this key may be one published since the auth service went away.
            raise KeySetUnavailable("the signing keys cannot be fetched")
        key = self._keys.get(kid)
        if key is None:
            raise UnknownKey(kid)
        return key
