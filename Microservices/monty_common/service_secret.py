"""The secret services present to each other on internal routes."""

import hmac
import secrets
from pathlib import Path

from monty_common.private_files import read_or_create

SERVICE_SECRET_HEADER = "Monty-Service-Secret"  # noqa: S105 - a header name, not a secret


def read_or_create_secret(path: Path) -> str:
    """The secret stored at `path`; created (0600) by whichever service starts first."""
    return read_or_create(path, lambda: (secrets.token_urlsafe(32) + "\n").encode()).decode().strip()


def secrets_match(given: str | None, expected: str) -> bool:
    """Constant-time comparison."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
