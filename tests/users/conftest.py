"""Fixtures for the user service: apps built from the factory on each database, and tokens."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from support.apps import AppBuilder
from support.tokens import TestKeys
from support.users import ADMIN_PASSWORD, ADMIN_USERNAME, SERVICE_SECRET, AppFactory, UserMaker
from user_service import create_app
from user_service.schema import init_database
from user_service.settings import UserSettings


@pytest.fixture
def make_app(database_url: str, test_keys: TestKeys, tmp_path: Path) -> Iterator[AppFactory]:
    """Build user apps on the test's database; every app built is closed after the test."""
    builder = AppBuilder(
        create_app,
        UserSettings,
        {
            "database_url": database_url,
            "data_dir": tmp_path / "data",
            "jwks_url": test_keys.jwks_url,
            "service_secret": SERVICE_SECRET,
            "admin_username": ADMIN_USERNAME,
            "admin_password": ADMIN_PASSWORD,
        },
        before_create=init_database,
    )
    yield builder
    builder.close_all()


@pytest.fixture
def admin(client: FlaskClient, test_keys: TestKeys, secret_header: dict[str, str]) -> dict[str, str]:
    """The first admin's Authorization header (its subject is the stored admin's id)."""
    found = client.post(
        "/internal/credentials",
        json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        headers=secret_header,
    )
    assert found.status_code == 200, found.get_json()
    return test_keys.bearer(found.get_json()["id"], ["admin"])


@pytest.fixture
def secret_header() -> dict[str, str]:
    """The header the other services send on internal routes."""
    return {"Monty-Service-Secret": SERVICE_SECRET}


@pytest.fixture
def new_user(client: FlaskClient, admin: dict[str, str]) -> UserMaker:
    """Create a user through the API and return its JSON."""

    def create(
        username: str, password: str = "a-good-password", roles: list[str] | None = None
    ) -> dict[str, Any]:
        body = {
            "username": username,
            "password": password,
            "roles": roles if roles is not None else ["producer"],
        }
        response = client.post("/users", json=body, headers=admin)
        assert response.status_code == 201, response.get_json()
        user: dict[str, Any] = response.get_json()
        return user

    return create
