"""The secret services present to each other on internal routes."""

import hmac
import os
import secrets
from pathlib import Path

SERVICE_SECRET_HEADER = "Monty-Service-Secret"  # noqa: S105 - a header name, not a secret


def read_or_create_secret(path: Path) -> str:
    """The secret stored at `path`; created (0600) by whichever service starts first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def secrets_match(given: str | None, expected: str) -> bool:
    """Constant-time comparison."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
