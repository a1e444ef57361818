"""The auth service reads logins with the strict JSON reader: 400 problems, never a 500."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from auth_service import create_app
from auth_service.settings import AuthSettings
from monty_common.lifecycle import close_app
from support.ports import free_port
from support.problems import assert_problem


@pytest.fixture
def login_client(tmp_path: Path) -> Iterator[FlaskClient]:
    """An auth app (its user service is never reached: every body here is refused first)."""
    settings = AuthSettings(
        data_dir=tmp_path,
        users_url=f"http://127.0.0.1:{free_port()}",
        service_secret="a-service-secret-0123456789",
    )
    app = create_app(settings)
    try:
        yield app.test_client()
    finally:
        close_app(app)


def test_deep_nesting_is_400_without_a_stack_trace(login_client: FlaskClient) -> None:
    """3000 nested arrays on the unauthenticated login route are a short 400, not a 500."""
    response = login_client.post("/auth/token", data=b"[" * 3000, content_type="application/json")
    body = assert_problem(response, 400, "invalid-json")
    assert "nested too deeply" in body["detail"]
    assert len(response.data) < 1000


def test_duplicate_keys_are_400(login_client: FlaskClient) -> None:
    """Two usernames in one login are refused: which one would be checked, and which one counted?"""
    raw = b'{"username": "ann", "username": "bob", "password": "a password"}'
    body = assert_problem(login_client.post("/auth/token", data=raw, content_type="application/json"), 400)
    assert body["invalid_params"] == [{"name": "/username", "reason": "duplicate key"}]
