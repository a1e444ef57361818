"""Route guards that run before the request is validated, so an unauthenticated caller gets 401, not 400."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, request
from flask_openapi3.request import validate_request

from monty_common.auth import current_principal, require_roles
from monty_common.problems import ProblemError
from monty_common.service_secret import SERVICE_SECRET_HEADER, secrets_match
from user_service import accounts
from user_service.account_problems import account_gone
from user_service.user_rules import ADMIN

F = TypeVar("F", bound=Callable[..., Any])


def _validated(view: F) -> F:
    """`view` validating its own parameters; flask-openapi3 then leaves that to it."""
    return cast(F, validate_request()(view))  # type: ignore[no-untyped-call]


def with_roles(*roles: str) -> Callable[[F], F]:
    """Check the bearer token (and `roles`, if any), then validate the request."""

    def decorator(view: F) -> F:
        return require_roles(*roles)(_validated(view))

    return decorator


def admin_only(view: F) -> F:
    """An admin's token, whose user is still an enabled admin here, then validate the request.

    The role in a token is as old as the token: a disabled, demoted or deleted admin must lose
    these routes at once, not when the token expires.
    """
    validated = _validated(view)

    @wraps(validated)
    def checked(*args: Any, **kwargs: Any) -> Any:
        user = accounts.find_active_user(current_principal().subject)
        if user is None:
            raise account_gone()
        if ADMIN not in user.roles:
            raise ProblemError(403, "forbidden", "Forbidden", "This route needs the role admin.")
        return validated(*args, **kwargs)

    return require_roles(ADMIN)(cast(F, checked))


class ServiceSecret:
    """Flask extension holding the secret other services present on internal routes."""

    key = "monty.service_secret"

    def init_app(self, app: Flask, secret: str) -> None:
        """Accept `secret` on the app's internal routes."""
        app.extensions[self.key] = secret

    def required(self, view: F) -> F:
        """Answer 401 unless the request carries the service secret, then validate it."""
        validated = _validated(view)

        @wraps(validated)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not secrets_match(
                request.headers.get(SERVICE_SECRET_HEADER), current_app.extensions[self.key]
            ):
                raise ProblemError(
                    401,
                    "service-secret-required",
                    "Unauthorized",
                    f"This internal route needs the {SERVICE_SECRET_HEADER} header of the services.",
                )
            return validated(*args, **kwargs)

        return cast(F, guarded)
