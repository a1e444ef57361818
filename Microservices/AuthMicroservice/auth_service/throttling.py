"""Throttling failed logins per account and per client address (Flask-Limiter)."""

import math
import time

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from auth_service.settings import AuthSettings
from monty_common.problems import PROBLEM_TYPE_PREFIX, problem_response

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
        "Too many failed logins; wait before trying again.",
        PROBLEM_TYPE_PREFIX + "too-many-logins",
        headers={"Retry-After": str(max(1, wait))},
    )


def account_key() -> str:
    """The username a login is for, case-folded, so its failures count together."""
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    return "account:" + (username.casefold() if isinstance(username, str) else "")


def _settings() -> AuthSettings:
    """The current app's settings."""
    settings: AuthSettings = current_app.extensions["monty.settings"]
    return settings


def per_account_limit() -> str:
    """Failed logins allowed per account."""
    return _settings().login_limit_per_account


def per_address_limit() -> str:
    """Failed logins allowed per client address."""
    return _settings().login_limit_per_address


def failed_login(response: object) -> bool:
    """Only failed logins count toward the limits."""
    return getattr(response, "status_code", 0) == 401
