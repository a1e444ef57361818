"""Logging in while the user service cannot be asked: 503, told when to come back."""

from pathlib import Path

from auth_service import create_app
from auth_service.settings import AuthSettings
from monty_common.lifecycle import close_app
from support.rabbit_node import free_port


def test_an_unreachable_user_service_is_503_with_the_configured_retry_after(tmp_path: Path) -> None:
    """The login is not refused as a wrong password, and Retry-After is MONTY_RETRY_AFTER."""
    settings = AuthSettings(
        data_dir=tmp_path,
        users_url=f"http://127.0.0.1:{free_port()}",
        service_secret="a-service-secret-0123456789",
        retry_after=7,
    )
    app = create_app(settings)
    try:
        answer = app.test_client().post("/auth/token", json={"username": "ann", "password": "a password"})
    finally:
        close_app(app)
    assert answer.status_code == 503
    assert answer.get_json()["type"] == "urn:monty:problem:users-unavailable"
    assert answer.headers["Retry-After"] == "7"
