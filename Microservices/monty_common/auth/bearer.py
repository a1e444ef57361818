"""Guarding routes with bearer tokens: 401 without a valid token, 403 without the role."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from monty_common.auth.verifier import InvalidToken, KeysUnavailable, Principal, TokenVerifier
from monty_common.problems import ProblemError

F = TypeVar("F", bound=Callable[..., Any])
REALM = "montyexchange"


class BearerAuth:
    """Flask extension holding an app's token verifier."""

    key = "monty.bearer"

    def init_app(self, app: Flask, verifier: TokenVerifier) -> None:
        """Use `verifier` for the app's guarded routes."""
        app.extensions[self.key] = verifier

    @property
    def verifier(self) -> TokenVerifier:
        """The current app's verifier."""
        verifier: TokenVerifier = current_app.extensions[self.key]
        return verifier


def _unauthorized(detail: str, error: str | None = None) -> ProblemError:
    """401 with the WWW-Authenticate challenge of RFC 6750."""
    challenge = f'Bearer realm="{REALM}"'
    if error:
        challenge += f', error="{error}"'
    return ProblemError(401, "unauthorized", "Unauthorized", detail, {"WWW-Authenticate": challenge})


def authenticate() -> Principal:
    """The principal of the request's bearer token, or a 401 problem."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthorized("This route needs an Authorization: Bearer <token> header.")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("The Authorization header must be 'Bearer <token>'.", "invalid_request")
    try:
        verifier: TokenVerifier = current_app.extensions[BearerAuth.key]
        principal = verifier.verify(token.strip())
    except InvalidToken as error:
        raise _unauthorized(f"The token was refused: {error}.", "invalid_token") from None
    except KeysUnavailable as error:
        raise ProblemError(
            503,
            "keys-unavailable",
            "Service Unavailable",
            f"Tokens cannot be checked now: {error}.",
            {"Retry-After": "5"},
        ) from None
    g.monty_principal = principal
    return principal


def require_roles(*roles: str) -> Callable[[F], F]:
    """Let a request through if its token holds one of `roles`, or `admin`; any valid token if none."""

    def decorator(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            if roles and "admin" not in principal.roles and principal.roles.isdisjoint(roles):
                raise ProblemError(
                    403,
                    "forbidden",
                    "Forbidden",
                    f"This route needs the role {' or '.join(roles)}.",
                    {"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope"'},
                )
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorator


def current_principal() -> Principal:
    """The principal authenticated for this request."""
    principal: Principal = g.monty_principal
    return principal
