"""Route guards that run before the request is validated, so an unauthenticated caller gets 401, not 400."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, request
from flask_openapi3.request import validate_request

from monty_common.auth import require_roles
from monty_common.problems import ProblemError
from monty_common.service_secret import SERVICE_SECRET_HEADER, secrets_match

F = TypeVar("F", bound=Callable[..., Any])


def _validated(view: F) -> F:
    """`view` validating its own parameters; flask-openapi3 then leaves that to it."""
    return cast(F, validate_request()(view))  # type: ignore[no-untyped-call]


def with_roles(*roles: str) -> Callable[[F], F]:
    """Check the bearer token (and `roles`, if any), then validate the request."""

    def decorator(view: F) -> F:
        return require_roles(*roles)(_validated(view))

    return decorator


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
