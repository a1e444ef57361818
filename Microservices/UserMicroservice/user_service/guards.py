"""The admin routes' guard: an admin's token whose user is still an enabled admin here."""

from collections.abc import Callable
from typing import Any, TypeVar

from flask import g

from monty_common.auth import Principal, guard
from monty_common.problems import ProblemError
from user_service import accounts
from user_service.account_problems import account_gone
from user_service.user_rules import ADMIN

F = TypeVar("F", bound=Callable[..., Any])


def _still_an_admin(principal: Principal) -> None:
    """401 if the token's user is gone or disabled or revoked the token, 403 if it is no longer an
    admin.

    The role in a token is as old as the token: a disabled, demoted or deleted admin must lose
    these routes at once, not when the token expires.
    """
    user = accounts.find_active_user(principal.subject, principal.token_version)
    if user is None:
        raise account_gone()
    if ADMIN not in user.roles:
        raise ProblemError(403, "forbidden", "Forbidden", "This route needs the role admin.")
    # The audit log names the admin as they are called now, not as their token was issued.
    g.audit_actor = user.username


def admin_only(view: F) -> F:
    """Check the token holds admin and its user still is one, then validate the request."""
    return guard(ADMIN, then=_still_an_admin)(view)
