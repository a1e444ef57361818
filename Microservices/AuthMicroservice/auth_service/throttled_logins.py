"""Recording throttled logins in the user service's audit log, at most one per client address a
minute: a flood of refused logins must not become a flood of database writes."""

import logging
from dataclasses import dataclass

from flask import g
from limits import RateLimitItem

from auth_service.throttling import client_address
from monty_common.attempts import AttemptCounter, AttemptLimit, CountsUnavailable, TooManyAttempts
from monty_common.audit_events import (
    CLIENT_MAX,
    AuditClient,
    AuditUnavailable,
    Outcome,
    ServiceAction,
    readable,
)

# At most this many login_throttled events per client address, counted as the login limits are.
RECORD_LIMIT = "1/minute"
# The user service's limit on usernames, which logins share.
USERNAME_MAX = 64

_audit_log = logging.getLogger("monty.audit")


@dataclass(frozen=True)
class ThrottledLogins:
    """Records throttled logins through `audit`, rationed per address by `limit` in `counter`'s
    storage (the login throttle's own: memory, or Redis shared by every process)."""

    audit: AuditClient
    counter: AttemptCounter
    limit: RateLimitItem

    def record(self, username: str) -> bool:
        """Record that this request's login as `username` was throttled, unless its address had one
        recorded within the limit; whether it was. A failure is logged, never raised: the 429 stands."""
        address = client_address()
        try:
            self.counter.count([AttemptLimit(self.limit, f"login|throttled-audit|{address}")])
        except TooManyAttempts:
            return False
        except CountsUnavailable as error:
            _audit_log.warning("login_throttled not recorded: %s", error)
            return False
        event = {
            "action": ServiceAction.LOGIN_THROTTLED.value,
            "outcome": Outcome.REFUSED.value,
            "actor_id": None,
            "actor": readable(username[:USERNAME_MAX]),
            "target": None,
            "request_id": g.get("request_id"),
            "client": readable(address[:CLIENT_MAX]),
            "details": {},
        }
        try:
            self.audit.record(event)
        except AuditUnavailable as error:
            # Its count is not given back: a user service that is down is tried once a window, not
            # on every 429.
            _audit_log.warning("login_throttled not recorded: %s", error, extra={**event, "recorded": False})
            return False
        return True
