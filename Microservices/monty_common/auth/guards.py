"""Route guards: the caller is checked first, the request validated after, so a caller without a
valid token learns nothing about the parameters (401 or 403, never 400)."""

from collections.abc import Callable
from typing import Any, TypeVar

from monty_common.auth.bearer import REALM, authenticate
from monty_common.auth.verifier import Principal
from monty_common.check_first import check_then_validate
from monty_common.problems import ProblemError

F = TypeVar("F", bound=Callable[..., Any])


def _require_roles(principal: Principal, roles: tuple[str, ...]) -> None:
    """403 unless the principal holds one of `roles`, or admin; any principal passes when none."""
    if roles and "admin" not in principal.roles and principal.roles.isdisjoint(roles):
        raise ProblemError(
            403,
            "forbidden",
            "Forbidden",
            f"This route needs the role {' or '.join(roles)}.",
            {"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope"'},
        )


def guard(*roles: str, then: Callable[[Principal], None] | None = None) -> Callable[[F], F]:
    """Authenticate the bearer token, require one of `roles` (or admin; any valid token if none),
    run `then` with the principal if given, and only then validate the request."""

    def check() -> None:
        principal = authenticate()
        _require_roles(principal, roles)
        if then is not None:
            then(principal)

    return check_then_validate(check)
