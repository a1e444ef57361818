"""The secret services present to each other on internal routes: the guard that asks for it, and
the client that shows it."""

import hmac
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests
from flask import request

from monty_common.check_first import check_then_validate
from monty_common.extension import Extension
from monty_common.private_files import read_or_create
from monty_common.problems import ProblemError
from monty_common.request_ids import forwarded_request_id

SERVICE_SECRET_HEADER = "Monty-Service-Secret"  # noqa: S105 - a header name, not a secret


MIN_SECRET_LENGTH = 16

F = TypeVar("F", bound=Callable[..., Any])


def read_or_create_secret(path: Path) -> str:
    """The secret stored at `path`; created (0600) by whichever service starts first."""
    secret = read_or_create(path, lambda: (secrets.token_urlsafe(32) + "\n").encode()).decode().strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"{path} holds a service secret shorter than {MIN_SECRET_LENGTH} characters")
    return secret


def resolve_secret(configured: str | None, data_dir: Path) -> str:
    """The configured secret, or the one the services of one host share through `data_dir`."""
    return configured or read_or_create_secret(data_dir / "service-secret")


def secrets_match(given: str | None, expected: str) -> bool:
    """Constant-time comparison."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given).encode(), expected.encode())


class ServiceSecret(Extension[str]):
    """The secret an app accepts on its internal routes."""

    def required(self, view: F) -> F:
        """Answer 401 unless the request carries the service secret, then validate the request."""
        return check_then_validate(self._check)(view)

    def _check(self) -> None:
        """401 unless the request's secret header matches the app's secret."""
        if not secrets_match(request.headers.get(SERVICE_SECRET_HEADER), self.get()):
            raise ProblemError(
                401,
                "service-secret-required",
                "Unauthorized",
                f"This internal route needs the {SERVICE_SECRET_HEADER} header of the services.",
            )


class InternalRoute:
    """One internal route of another service, called with the service secret."""

    def __init__(self, url: str, secret: str, timeout: float) -> None:
        """The route's full URL, the secret that opens it, and how long to wait for an answer."""
        self.url = url
        self.timeout = timeout
        self._secret = secret

    def post(self, body: dict[str, Any]) -> requests.Response:
        """POST `body` as JSON (requests.RequestException if the service cannot be reached)."""
        return requests.post(
            self.url,
            json=body,
            # The calling request's id, so the called service's logs and audit name the same request.
            headers={SERVICE_SECRET_HEADER: self._secret, **forwarded_request_id()},
            timeout=self.timeout,
            # A redirect would carry the secret (and whatever the body holds) wherever it points.
            allow_redirects=False,
        )
