"""Throttling logins per account and per client address (Flask-Limiter).

Every attempt counts, and it is counted before the password is checked: counting only failures,
after the fact, would let a burst of parallel guesses through before the first one is counted.
The strict limit applies to one account from one address, so an attacker elsewhere cannot lock a
user out with it; looser limits per account and per address bound distributed guessing.
"""

import math
import time

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from auth_service.settings import AuthSettings
from monty_common.problems import PROBLEM_TYPE_PREFIX, problem_response
from monty_common.service_app import current_settings

# Bound to each app in init_app; limits are read from the app's settings at request time.
limiter = Limiter(key_func=get_remote_address, strategy="moving-window")


def init_throttling(app: Flask, settings: AuthSettings) -> None:
    """Bind the limiter to `app` with its storage (memory, or Redis by URL)."""
    app.config["RATELIMIT_STORAGE_URI"] = settings.rate_limit_storage
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many)


def _too_many(error: RateLimitExceeded) -> Response:
    """429 problem+json with Retry-After: when the oldest counted failure leaves the window."""
    current = limiter.current_limit
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
