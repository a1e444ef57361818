"""Checking a request before validating it: a caller refused by the check learns nothing about the
parameters (401 or 403, never 400)."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask_openapi3.request import validate_request

F = TypeVar("F", bound=Callable[..., Any])


def check_then_validate(check: Callable[[], None]) -> Callable[[F], F]:
    """Run `check` (it raises a problem to refuse the request), then validate the request, then the view."""

    def decorator(view: F) -> F:
        # flask-openapi3 sees the mark validate_request leaves and no longer validates before the
        # view: validation happens here, after the check.
        validated = validate_request()(view)  # type: ignore[no-untyped-call]

        @wraps(validated)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            check()
            return validated(*args, **kwargs)

        return cast(F, guarded)

    return decorator
