"""Refusing revoked tokens: a token is good while its user is active and its `ver` is current.

The user service raises a user's token version when their tokens must stop working (disabled,
deleted, a role taken away, a new password). Services that accept tokens ask it for a user's status at
most once per MONTY_REVOCATION_DELAY, sharing one answer among a process's requests, so a revoked
token is refused within that delay and a request costs a dictionary look-up, not a network call.
While the user service cannot be reached, statuses confirmed within MONTY_REVOCATION_OUTAGE_GRACE
are still used, and it is asked again only after a growing pause; past that, the user's requests
get 503.
"""

import logging
import threading
import time
from dataclasses import dataclass

import requests

from monty_common.auth.verifier import Principal
from monty_common.backoff import Backoff
from monty_common.service_secret import InternalRoute

log = logging.getLogger(__name__)

# Users whose status a process remembers; the least recently confirmed are forgotten first.
STATUSES_KEPT = 100_000


class TokenRevoked(Exception):
    """The token's user is gone or disabled, or revoked the tokens issued before a change."""


class UserStatusUnavailable(Exception):
    """The user service cannot say now, and no recent enough answer is known."""


@dataclass(frozen=True)
class UserStatus:
    """What tokens need to know of a user."""

    active: bool
    token_version: int


class UserDirectory:
    """Asks the user service's internal route for a user's status, with the service secret."""

    def __init__(self, users_url: str, secret: str, timeout: float) -> None:
        """Where the user service is and how to prove we are a service."""
        self.route = InternalRoute(users_url.rstrip("/") + "/internal/token-status", secret, timeout)

    def status(self, user_id: str) -> UserStatus:
        """The user's status, or UserStatusUnavailable."""
        try:
            response = self.route.post({"user_id": user_id})
        except requests.RequestException as error:
            raise UserStatusUnavailable(f"user service unreachable: {type(error).__name__}") from None
        if response.status_code != 200:
            raise UserStatusUnavailable(f"user service answered {response.status_code}")
        try:
            body = response.json()
            return UserStatus(bool(body["active"]), int(body["token_version"]))
        except (ValueError, KeyError, TypeError):
            raise UserStatusUnavailable("user service answered something else than a status") from None


class RevocationCheck:
    """Refuses tokens revoked since they were issued, from statuses cached per process."""

    def __init__(self, directory: UserDirectory, delay: float, outage_grace: float) -> None:
        """Cache statuses for `delay` seconds; use them up to `outage_grace` when no fresh one comes."""
        self._directory = directory
        self._delay = delay
        self._outage_grace = max(outage_grace, delay)
        self._lock = threading.Lock()
        # user id -> (status, when confirmed), least recently confirmed first.
        self._statuses: dict[str, tuple[UserStatus, float]] = {}
        # The look-ups in progress, which requests for the same user wait for.
        self._looking_up: dict[str, threading.Event] = {}
        # After a failed look-up no other is made before this moment (the user service is down).
        self._next_attempt_at = 0.0
        self._backoff = Backoff()

    def check(self, principal: Principal) -> None:
        """Nothing if the token is still good; TokenRevoked or UserStatusUnavailable otherwise."""
        status = self._status(principal.subject)
        if not status.active:
            raise TokenRevoked("its user was deleted or disabled")
        if principal.token_version < status.token_version:
            raise TokenRevoked("it was revoked when its user lost a role or changed password")

    def _status(self, user_id: str) -> UserStatus:
        """The user's status: cached, asked for, or (through an outage) the last one known."""
        with self._lock:
            known = self._statuses.get(user_id)
            if known is not None and time.monotonic() - known[1] < self._delay:
                return known[0]
            pending = self._looking_up.get(user_id)
            mine = pending is None and time.monotonic() >= self._next_attempt_at
            if mine:
                pending = self._looking_up[user_id] = threading.Event()
        if mine and pending is not None:
            self._look_up(user_id, pending)
        elif pending is not None and known is None:
            # Someone is asking already: their answer is ours too.
            pending.wait(self._directory.route.timeout + 1)
        with self._lock:
            known = self._statuses.get(user_id)
            if known is not None and time.monotonic() - known[1] < self._outage_grace:
                return known[0]
        raise UserStatusUnavailable("the user service cannot be asked whether the token was revoked")

    def _look_up(self, user_id: str, done: threading.Event) -> None:
        """Ask the user service and remember the answer, or pause before the next question."""
        try:
            status: UserStatus | None = self._directory.status(user_id)
        except UserStatusUnavailable as error:
            log.warning("cannot check whether tokens were revoked: %s", error)
            status = None
        with self._lock:
            now = time.monotonic()
            if status is None:
                self._next_attempt_at = now + self._backoff.next_delay()
            else:
                self._backoff.reset()
                self._next_attempt_at = 0.0
                self._statuses.pop(user_id, None)
                while len(self._statuses) >= STATUSES_KEPT:
                    del self._statuses[next(iter(self._statuses))]
                self._statuses[user_id] = (status, now)
            del self._looking_up[user_id]
        done.set()
