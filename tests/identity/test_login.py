"""Logging in: one answer for every wrong login, throttling, and what happens when a service is down."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from auth_service import create_app
from auth_service.settings import AuthSettings
from monty_common.lifecycle import close_app
from support.identity import ADMIN, ADMIN_PASSWORD, Identity
from support.problems import assert_problem


def test_unknown_user_and_wrong_password_get_the_same_answer(identity: Identity) -> None:
    """Nothing tells an attacker whether a username exists."""
    wrong_password = identity.login(ADMIN, "not the admin password")
    unknown_user = identity.login("nobody-here", "not the admin password")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json()
    assert wrong_password.headers["Content-Type"] == unknown_user.headers["Content-Type"]
    assert identity.login(ADMIN, ADMIN_PASSWORD).status_code == 200


def test_repeated_failures_for_one_account_are_throttled(identity: Identity) -> None:
    """After 5 attempts a minute, even the right password gets 429 with Retry-After; others are unaffected."""
    for _ in range(5):
        assert identity.login(ADMIN.upper(), "wrong password, again").status_code == 401
    throttled = identity.login(ADMIN, ADMIN_PASSWORD)
    assert_problem(throttled, 429, "too-many-logins")
    assert 1 <= int(throttled.headers["Retry-After"]) <= 61
    assert identity.login("someone-else", "wrong password, again").status_code == 401


def test_failures_from_one_address_are_throttled_across_accounts(identity: Identity) -> None:
    """Spraying many usernames from one address hits the per-address limit (30 a minute).

    The sliding-window counter weighs the previous minute's attempts by how much of it is still in
    the window, so a spray that crosses a minute boundary on a slow machine may be refused a few
    attempts later than the 31st; never earlier.
    """
    statuses: list[int] = []
    while 429 not in statuses and len(statuses) < 45:
        statuses.append(identity.login(f"spray-{len(statuses)}", "a guessed password").status_code)
    assert statuses[:30] == [401] * 30
    assert statuses[-1] == 429, statuses


def test_parallel_guesses_cannot_outrun_the_counter(identity: Identity) -> None:
    """Attempts are counted before the password is checked, so a burst gets no more than the limit."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: identity.login(ADMIN, "a parallel guess").status_code, range(16)))
    assert statuses.count(401) == 5
    assert statuses.count(429) == 11


def test_a_json_string_body_is_not_a_login(identity: Identity) -> None:
    """A JSON string that holds a login object is refused, so it cannot dodge the per-account limit."""
    body = json.dumps(json.dumps({"username": ADMIN, "password": ADMIN_PASSWORD}))
    response = requests.post(
        identity.auth.url + "/auth/token", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 400


def test_bad_login_bodies_are_400(identity: Identity) -> None:
    """Missing fields or a non-object body are named in a problem+json answer."""
    response = requests.post(identity.auth.url + "/auth/token", json={"username": "x"}, timeout=10)
    assert "password" in assert_problem(response, 400)["detail"]
    response = requests.post(identity.auth.url + "/auth/token", json=[], timeout=10)
    assert_problem(response, 400)


def test_a_login_that_is_not_json_is_415(identity: Identity) -> None:
    """A form or a body without a JSON Content-Type is refused as an unsupported media type."""
    for headers in ({}, {"Content-Type": "application/x-www-form-urlencoded"}):
        response = requests.post(
            identity.auth.url + "/auth/token", data="username=x&password=y", headers=headers, timeout=10
        )
        assert_problem(response, 415, "unsupported-media-type")


def test_user_service_down_is_503_not_a_wrong_password(identity: Identity) -> None:
    """Without the user service nobody can log in, and the answer says why."""
    identity.users.stop()
    response = identity.login(ADMIN, ADMIN_PASSWORD)
    assert_problem(response, 503, "users-unavailable")
    assert "Retry-After" in response.headers


def _last_attempts_through_two_apps(settings: AuthSettings) -> list[int]:
    """Five wrong logins for one new account spread over two apps, then one more through each app: the
    statuses of those last two (each app alone has seen at most three attempts)."""
    account = f"throttled-{uuid.uuid4().hex[:8]}"
    apps = [create_app(settings) for _ in range(2)]
    try:
        clients = [app.test_client() for app in apps]
        body = {"username": account, "password": "wrong password"}
        for attempt in range(5):
            assert clients[attempt % 2].post("/auth/token", json=body).status_code == 401
        return [client.post("/auth/token", json=body).status_code for client in clients]
    finally:
        for app in apps:
            close_app(app)


def test_throttle_is_shared_through_redis(identity: Identity, tmp_path: Path) -> None:
    """With Redis storage, two auth processes count failures together (here: two apps)."""
    settings = AuthSettings(
        data_dir=tmp_path,
        users_url=identity.users.url,
        service_secret=identity.secret,
        rate_limit_storage="redis://127.0.0.1:6379/0",
    )
    assert _last_attempts_through_two_apps(settings) == [429, 429]


def test_memory_throttles_of_two_apps_count_apart(identity: Identity, tmp_path: Path) -> None:
    """With memory:// storage each app counts only its own attempts, as each process does."""
    settings = AuthSettings(data_dir=tmp_path, users_url=identity.users.url, service_secret=identity.secret)
    assert _last_attempts_through_two_apps(settings) == [401, 401]
