"""The identity services started as users start them: the user service and the auth service, live."""

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.identity import ADMIN, ADMIN_PASSWORD, Identity
from support.ports import free_port
from support.processes import start_service


@pytest.fixture
def identity(database_url: str, tmp_path: Path) -> Iterator[Identity]:
    """User service (on SQLite and on PostgreSQL) and auth service, with a first admin, short tokens."""
    secret = secrets.token_urlsafe(24)
    auth_port = free_port()
    common = {"MONTY_SERVICE_SECRET": secret, "MONTY_DATA_DIR": str(tmp_path / "var"), "MONTY_THREADS": "8"}
    users = start_service(
        "Microservices/UserMicroservice/app.py",
        {
            **common,
            "MONTY_DATABASE_URL": database_url,
            "MONTY_ADMIN_USERNAME": ADMIN,
            "MONTY_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "MONTY_JWKS_URL": f"http://127.0.0.1:{auth_port}/.well-known/jwks.json",
        },
        tmp_path / "users.log",
    )
    auth = None
    try:
        users.wait_healthy()
        auth = start_service(
            "Microservices/AuthMicroservice/app.py",
            {**common, "MONTY_USERS_URL": users.url, "MONTY_TOKEN_TTL": "5"},
            tmp_path / "auth.log",
            auth_port,
        )
        auth.wait_healthy()
        yield Identity(users, auth, secret)
    finally:
        if auth is not None:
            auth.stop()
        users.stop()
