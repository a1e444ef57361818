"""Revoked tokens stop working on the exchange and the archive within MONTY_REVOCATION_DELAY.

Live services: a user is disabled, demoted, deleted or changes password, and the token they held
is refused by the exchange and the archive once their cached status ages (here, 1 s).
"""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from support.polling import wait_until
from support.problems import assert_problem
from support.stack import Stack, running_stack

DELAY = 1.0
# The delay, plus a lookup and a request or two on a busy machine.
WITHIN = DELAY + 10


@pytest.fixture(scope="module")
def stack(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Users, auth, exchange and archive; statuses cached for 1 s."""
    with running_stack(
        amqp_url,
        tmp_path_factory.mktemp("revocation"),
        token_checks={"MONTY_REVOCATION_DELAY": str(DELAY), "MONTY_REVOCATION_OUTAGE_GRACE": "4"},
    ) as running:
        yield running


def _bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def _login(stack: Stack, username: str, password: str) -> str:
    """A token from the live auth service."""
    answer = requests.post(
        stack.services["auth"].url + "/auth/token",
        json={"username": username, "password": password},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _new_user(stack: Stack, roles: list[str]) -> tuple[str, str, str]:
    """A new user's id, name and password, created by the first admin."""
    name, password = f"user-{uuid.uuid4().hex[:8]}", "a long enough password"
    created = requests.post(
        stack.services["users"].url + "/users",
        json={"username": name, "password": password, "roles": roles},
        headers=_bearer(stack.token()),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"]), name, password


def _access(stack: Stack, token: str) -> tuple[int, int]:
    """The statuses of a publish on the exchange and of a listing of the archive with `token`."""
    published = requests.post(
        stack.services["exchange"].url + "/Message", json={"n": 1}, headers=_bearer(token), timeout=10
    )
    listed = requests.get(
        stack.services["archive"].url + "/Messages?limit=1", headers=_bearer(token), timeout=10
    )
    return published.status_code, listed.status_code


def _as_admin(stack: Stack, method: str, path: str, body: object = None) -> None:
    """Call an admin route of the user service; it must succeed."""
    answer = requests.request(
        method, stack.services["users"].url + path, json=body, headers=_bearer(stack.token()), timeout=10
    )
    assert answer.status_code in (200, 204), answer.text


def _change_own_password(stack: Stack, token: str, old: str) -> None:
    """The user changes their own password with their token."""
    answer = requests.put(
        stack.services["users"].url + "/users/me/password",
        json={"old_password": old, "new_password": "a different long password"},
        headers=_bearer(token),
        timeout=10,
    )
    assert answer.status_code == 204, answer.text


REVOCATIONS: dict[str, Callable[[Stack, str, str, str], None]] = {
    "disabled": lambda stack, user_id, token, password: _as_admin(stack, "POST", f"/users/{user_id}/disable"),
    "demoted": lambda stack, user_id, token, password: _as_admin(
        stack, "PUT", f"/users/{user_id}/roles", {"roles": ["consumer"]}
    ),
    "deleted": lambda stack, user_id, token, password: _as_admin(stack, "DELETE", f"/users/{user_id}"),
    "password reset by an admin": lambda stack, user_id, token, password: _as_admin(
        stack, "PUT", f"/users/{user_id}/password", {"password": "an admin's new password"}
    ),
    "own password changed": lambda stack, user_id, token, password: _change_own_password(
        stack, token, password
    ),
}


@pytest.mark.parametrize("revocation", list(REVOCATIONS))
def test_a_revoked_token_is_refused_by_the_exchange_and_the_archive(stack: Stack, revocation: str) -> None:
    """A token that worked on both is refused (401) by both within the revocation delay."""
    user_id, name, password = _new_user(stack, ["producer", "consumer"])
    token = _login(stack, name, password)
    assert _access(stack, token) == (200, 200)
    REVOCATIONS[revocation](stack, user_id, token, password)
    wait_until(
        lambda: _access(stack, token) == (401, 401), WITHIN, f"the token of a user {revocation} to be refused"
    )
    refused = requests.get(stack.services["archive"].url + "/Messages", headers=_bearer(token), timeout=10)
    assert_problem(refused, 401, "unauthorized")
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_a_new_login_after_a_password_change_works_at_once(stack: Stack) -> None:
    """Revocation ends the tokens issued before the change, not the ones issued after it."""
    _, name, password = _new_user(stack, ["producer", "consumer"])
    old = _login(stack, name, password)
    assert _access(stack, old) == (200, 200)
    _change_own_password(stack, old, password)
    new = _login(stack, name, "a different long password")
    assert _access(stack, new) == (200, 200)


def test_without_the_user_service_known_users_last_the_grace_then_503(amqp_url: str, tmp_path: Path) -> None:
    """With the user service down, a user whose status was confirmed keeps access for the outage grace
    (4 s here), then gets 503; a user not seen before gets 503 at once."""
    with running_stack(
        amqp_url,
        tmp_path,
        token_checks={"MONTY_REVOCATION_DELAY": str(DELAY), "MONTY_REVOCATION_OUTAGE_GRACE": "4"},
    ) as stack:
        _, known_name, known_password = _new_user(stack, ["producer", "consumer"])
        _, unseen_name, unseen_password = _new_user(stack, ["producer", "consumer"])
        known = _login(stack, known_name, known_password)
        unseen = _login(stack, unseen_name, unseen_password)
        assert _access(stack, known) == (200, 200)
        stack.services["users"].stop()
        assert _access(stack, known) == (200, 200)
        unavailable = requests.get(
            stack.services["archive"].url + "/Messages", headers=_bearer(unseen), timeout=10
        )
        assert_problem(unavailable, 503, "users-unavailable")
        assert "Retry-After" in unavailable.headers
        wait_until(lambda: _access(stack, known) == (503, 503), 30, "the known user's grace to end")
