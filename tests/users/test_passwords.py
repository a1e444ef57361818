"""Passwords: 12 to 1024 characters, never truncated, stored only as Argon2id hashes, upgraded at sign-in."""

import logging

import pytest
from argon2 import PasswordHasher, Type
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from support.tokens import TestKeys
from support.users import ADMIN_PASSWORD, ARGON2_PREFIX, AppFactory, UserMaker, dump_database
from user_service.extensions import database
from user_service.models import User


def _stored_hash(app: OpenAPI, user_id: str) -> str:
    """The password hash the database holds for the user."""
    with app.app_context(), database.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.password_hash


def _sign_in(client: FlaskClient, secret_header: dict[str, str], username: str, password: str) -> int:
    """The status /internal/credentials answers."""
    body = {"username": username, "password": password}
    return client.post("/internal/credentials", json=body, headers=secret_header).status_code


@pytest.mark.parametrize(("length", "status"), [(11, 400), (12, 201), (1024, 201), (1025, 400)])
def test_password_length_bounds(client: FlaskClient, admin: dict[str, str], length: int, status: int) -> None:
    """Fewer than 12 or more than 1024 characters are refused on creation."""
    body = {"username": "frank", "password": "p" * length}
    response = client.post("/users", json=body, headers=admin)
    assert response.status_code == status
    if status == 400:
        assert response.get_json()["invalid_params"][0]["name"] == "password"


@pytest.mark.parametrize("length", [11, 1025])
def test_reset_and_change_enforce_the_length(
    client: FlaskClient,
    admin: dict[str, str],
    new_user: UserMaker,
    secret_header: dict[str, str],
    test_keys: TestKeys,
    length: int,
) -> None:
    """An admin's reset and a user's own change refuse the same lengths, and the password stays."""
    user = new_user("grace", password="grace-password")
    reset = client.put(f"/users/{user['id']}/password", json={"password": "p" * length}, headers=admin)
    assert reset.status_code == 400
    body = {"old_password": "grace-password", "new_password": "p" * length}
    change = client.put("/users/me/password", json=body, headers=test_keys.bearer(user["id"], ["consumer"]))
    assert change.status_code == 400
    assert _sign_in(client, secret_header, "grace", "grace-password") == 200


def test_long_password_is_not_truncated(
    client: FlaskClient, new_user: UserMaker, secret_header: dict[str, str]
) -> None:
    """A 100-character password signs in whole; its first 72 characters do not (no bcrypt-style cut)."""
    password = "".join(chr(ord("a") + number % 26) for number in range(100))
    new_user("heidi", password=password)
    assert _sign_in(client, secret_header, "heidi", password) == 200
    assert _sign_in(client, secret_header, "heidi", password[:72]) == 401
    assert _sign_in(client, secret_header, "heidi", password[:99]) == 401


def test_passwords_are_stored_only_as_argon2id_hashes(
    make_app: AppFactory,
    admin: dict[str, str],
    secret_header: dict[str, str],
    database_url: str,
    test_keys: TestKeys,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The hash has OWASP's parameters; no row, log record or output holds a password, no answer a hash."""
    # Before the app exists, and with SQL statements and their parameters logged too.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    app = make_app()
    client = app.test_client()
    first, reset, changed = "first-Secret-Pw-1", "reset-Secret-Pw-2", "changed-Secret-Pw-3"
    created = client.post("/users", json={"username": "ivan", "password": first}, headers=admin)
    user_id = created.get_json()["id"]
    answers = [
        created,
        client.put(f"/users/{user_id}/password", json={"password": reset}, headers=admin),
        client.post(
            "/internal/credentials", json={"username": "ivan", "password": reset}, headers=secret_header
        ),
        client.put(
            "/users/me/password",
            json={"old_password": reset, "new_password": changed},
            # Issued after the reset, which revoked the tokens of version 0.
            headers=test_keys.bearer(user_id, ["producer"], 1),
        ),
        client.get(f"/users/{user_id}", headers=admin),
        client.get("/users", headers=admin),
    ]
    assert [answer.status_code for answer in answers] == [201, 204, 200, 204, 200, 200]
    assert _stored_hash(app, user_id).startswith(ARGON2_PREFIX)
    out, err = capfd.readouterr()
    logs = caplog.text + err
    assert "INSERT INTO users" in logs
    answered = out + "".join(answer.get_data(as_text=True) for answer in answers)
    assert "$argon2" not in answered
    rows = dump_database(database_url)
    assert rows.count(ARGON2_PREFIX) == 2  # the dump holds the users table: root and ivan
    for password in (ADMIN_PASSWORD, first, reset, changed):
        for text in (rows, logs, answered):
            assert password not in text


def test_sign_in_rehashes_weaker_hashes(
    app: OpenAPI, client: FlaskClient, new_user: UserMaker, secret_header: dict[str, str]
) -> None:
    """A hash made with weaker parameters is replaced by one with the current parameters at sign-in."""
    user = new_user("judy", password="judy-password-1")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID).hash("judy-password-1")
    with app.app_context(), database.session() as session:
        stored = session.get(User, user["id"])
        assert stored is not None
        stored.password_hash = weak
    assert _sign_in(client, secret_header, "judy", "wrong-password-1") == 401
    assert _stored_hash(app, user["id"]) == weak
    assert _sign_in(client, secret_header, "judy", "judy-password-1") == 200
    upgraded = _stored_hash(app, user["id"])
    assert upgraded != weak
    assert upgraded.startswith(ARGON2_PREFIX)
    assert _sign_in(client, secret_header, "judy", "judy-password-1") == 200
