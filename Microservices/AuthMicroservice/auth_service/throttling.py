"""Throttling logins per account, per client address and per both, without locking owners out.

Every attempt is counted before its password is checked, so a burst of parallel guesses gets no
further than a limit allows; a successful login then gives its counts back, so only failures use a
limit up and a client that logs in before every call never throttles itself. The limits:

- one account from one address (MONTY_LOGIN_LIMIT_PER_ACCOUNT_ADDRESS, 5 a minute): guessing one
  password from one place;
- one address, whatever the account (MONTY_LOGIN_LIMIT_PER_ADDRESS, 30 a minute): spraying;
- one account, whatever the address (MONTY_LOGIN_LIMIT_PER_ACCOUNT, 30 an hour): guessing from
  many places. Past it, only addresses that have themselves failed on the account in that time
  are refused, so the owner, logging in from an address of their own, is never locked out by
  someone else's failures. One address is also held to this limit on one account.
"""

import ipaddress
from dataclasses import dataclass

from flask import request
from limits import RateLimitItem

from auth_service.settings import AuthSettings
from monty_common.attempts import (
    AttemptCounter,
    AttemptLimit,
    CountedAttempt,
    counted_or_refused,
    parse_limit,
)
from monty_common.problems import ProblemError

# IPv6 clients are counted by their /64: one subscriber commonly holds a whole /64.
IPV6_PREFIX = 64


def client_address() -> str:
    """The request's client address (as ProxyFix resolved it behind trusted proxies); an IPv6
    address stands for its /64 network."""
    address = request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed)


@dataclass(frozen=True)
class LoginThrottle:
    """The login limits of one app, counted in its own storage (memory, or Redis shared by all)."""

    counter: AttemptCounter
    per_account_address: RateLimitItem
    per_address: RateLimitItem
    per_account: RateLimitItem
    retry_after: int

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> "LoginThrottle":
        """The limits the settings name, counted in MONTY_RATE_LIMIT_STORAGE."""
        return cls(
            AttemptCounter(settings.rate_limit_storage),
            parse_limit(settings.login_limit_per_account_address),
            parse_limit(settings.login_limit_per_address),
            parse_limit(settings.login_limit_per_account),
            settings.retry_after,
        )

    def count(self, username: str) -> CountedAttempt:
        """Count a login attempt for `username` from this request's address, or refuse it (429)."""
        account = username.strip().casefold()
        address = client_address()
        # The address comes first in keys: it holds no "|", so no username can imitate another key.
        strict = [
            AttemptLimit(self.per_account_address, f"login|account-address|{address}|{account}"),
            AttemptLimit(self.per_address, f"login|address|{address}"),
            # This address's own attempts on the account, over the account limit's period.
            AttemptLimit(self.per_account, f"login|account-history|{address}|{account}"),
        ]
        per_account = AttemptLimit(self.per_account, f"login|account|{account}")

        def count_now() -> CountedAttempt:
            if self.counter.is_unused(strict[-1]):
                # An address with no failures on the account is not refused for others' failures.
                return self.counter.count(strict, lenient=[per_account])
            return self.counter.count([*strict, per_account])

        refused = ProblemError(
            429,
            "too-many-logins",
            "Too Many Requests",
            "Too many failed login attempts; wait before trying again.",
        )
        return counted_or_refused(count_now, refused, "Login attempts", self.retry_after)

    def give_back(self, attempt: CountedAttempt) -> None:
        """Uncount an attempt that was no failed guess: a success, or one never checked."""
        self.counter.give_back(attempt)
