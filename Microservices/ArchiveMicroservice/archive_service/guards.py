"""Route guards that run before the request is validated, so an unauthenticated caller gets 401, not 400."""

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask_openapi3.request import validate_request

from monty_common.auth import require_roles

F = TypeVar("F", bound=Callable[..., Any])


def with_roles(*roles: str) -> Callable[[F], F]:
    """Check the bearer token holds one of `roles` (or admin), then validate the request."""

    def decorator(view: F) -> F:
        validated = cast(F, validate_request()(view))  # type: ignore[no-untyped-call]
        return require_roles(*roles)(validated)

    return decorator
