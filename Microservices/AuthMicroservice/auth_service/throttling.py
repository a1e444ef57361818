"""Throttling logins per account and per client address (Flask-Limiter).

Every attempt counts, and it is counted before the password is checked: counting only failures,
after the fact, would let a burst of parallel guesses through before the first one is counted.
The strict limit applies to one account from one address, so an attacker elsewhere cannot lock a
user out with it; looser limits per account and per address bound distributed guessing.
"""

import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from auth_service.extensions import limiter
from auth_service.settings import AuthSettings
from monty_common.problems import PROBLEM_TYPE_PREFIX, problem_response
from monty_common.service_app import current_settings

View = Callable[..., Any]


def init_throttling(app: Flask, settings: AuthSettings) -> None:
    """Give `app` a limiter of its own, counting in the configured storage (memory, or Redis by URL).

    One limiter per app, not one per module: a limiter keeps the storage of the last app it was
    bound to, so apps sharing one would share memory:// counts that are meant to be per process.
    """
    limiter.init_app(
        app,
        Limiter(
            get_remote_address, app=app, storage_uri=settings.rate_limit_storage, strategy="moving-window"
        ),
    )
    app.register_error_handler(RateLimitExceeded, _too_many)


def login_limits(app: Flask) -> Callable[[View], View]:
    """A decorator counting each call of a login view against `app`'s own limiter."""
    app_limiter = limiter.get(app)

    def limited(login: View) -> View:
        # Flask-Limiter checks a decorated view when the view is called: after flask-openapi3 has
        # validated the body, so a malformed login is refused (400) without being counted.
        login = app_limiter.limit(per_address_limit)(login)
        login = app_limiter.limit(per_account_limit, key_func=account_key)(login)
        return app_limiter.limit(per_account_address_limit, key_func=account_address_key)(login)

    return limited


def _too_many(error: RateLimitExceeded) -> Response:
    """429 problem+json with Retry-After: when the oldest counted attempt leaves the window."""
    current = limiter.get().current_limit
    wait = math.ceil(current.reset_at - time.time()) if current is not None else 60
    return problem_response(
        429,
        "Too Many Requests",
        "Too many login attempts; wait before trying again.",
        PROBLEM_TYPE_PREFIX + "too-many-logins",
        headers={"Retry-After": str(max(1, wait))},
    )


def _username() -> str:
    """The username a login is for, case-folded, so its attempts count together."""
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    return username.strip().casefold() if isinstance(username, str) else ""


def account_key() -> str:
    """Attempts for one account."""
    return "account:" + _username()


def account_address_key() -> str:
    """Attempts for one account from one address."""
    return f"account-address:{_username()}:{get_remote_address()}"


def per_account_address_limit() -> str:
    """Attempts allowed for one account from one address."""
    return current_settings(AuthSettings).login_limit_per_account_address


def per_account_limit() -> str:
    """Attempts allowed per account."""
    return current_settings(AuthSettings).login_limit_per_account


def per_address_limit() -> str:
    """Attempts allowed per client address."""
    return current_settings(AuthSettings).login_limit_per_address
