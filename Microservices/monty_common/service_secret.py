"""The secret services present to each other on internal routes."""

import hmac
import secrets
from pathlib import Path

from monty_common.private_files import read_or_create

SERVICE_SECRET_HEADER = "Monty-Service-Secret"  # noqa: S105 - a header name, not a secret


MIN_SECRET_LENGTH = 16


def read_or_create_secret(path: Path) -> str:
    """The secret stored at `path`; created (0600) by whichever service starts first."""
    secret = read_or_create(path, lambda: (secrets.token_urlsafe(32) + "\n").encode()).decode().strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"{path} holds a service secret shorter than {MIN_SECRET_LENGTH} characters")
    return secret


def secrets_match(given: str | None, expected: str) -> bool:
    """Constant-time comparison."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given).encode(), expected.encode())
