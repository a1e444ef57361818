"""PUT /users/me/password is throttled per user: a token is no way to guess the current password."""

from concurrent.futures import ThreadPoolExecutor

from flask.testing import FlaskClient

from support.problems import assert_problem
from support.tokens import TestKeys
from support.users import ADMIN_PASSWORD, ADMIN_USERNAME, SERVICE_SECRET, AppFactory, UserMaker

LIMIT = 10  # MONTY_PASSWORD_CHANGE_LIMIT's default: 10 per hour


def _change(client: FlaskClient, headers: dict[str, str], old: str, new: str = "a-brand-new-password") -> int:
    """The status of one change of the token's user's password."""
    body = {"old_password": old, "new_password": new}
    return client.put("/users/me/password", json=body, headers=headers).status_code


def test_wrong_current_passwords_are_throttled(
    client: FlaskClient, new_user: UserMaker, test_keys: TestKeys
) -> None:
    """After 10 wrong current passwords, even the right one gets 429 with Retry-After; others are not
    affected."""
    user = new_user("rupert", password="rupert-password")
    headers = test_keys.bearer(user["id"], ["producer"])
    assert [_change(client, headers, f"guess number {n}") for n in range(LIMIT)] == [403] * LIMIT
    refused = client.put(
        "/users/me/password",
        json={"old_password": "rupert-password", "new_password": "a-brand-new-password"},
        headers=headers,
    )
    assert_problem(refused, 429, "too-many-attempts")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    other = new_user("sybil", password="sybil-password")
    assert _change(client, test_keys.bearer(other["id"], ["producer"]), "a wrong guess") == 403


def test_parallel_guesses_cannot_outrun_the_count(
    client: FlaskClient, new_user: UserMaker, test_keys: TestKeys
) -> None:
    """Guesses are counted before the password is checked: a burst gets no further than the limit."""
    user = new_user("trent", password="trent-password")
    headers = test_keys.bearer(user["id"], ["producer"])
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda n: _change(client, headers, f"parallel guess {n}"), range(3 * LIMIT)))
    assert statuses.count(403) == LIMIT
    assert statuses.count(429) == 2 * LIMIT


def test_a_right_password_gives_its_count_back(make_app: AppFactory, test_keys: TestKeys) -> None:
    """Successful changes never count: after them the user still has every one of their tries."""
    app = make_app(password_change_limit="3 per hour")
    client = app.test_client()
    admin = _admin_headers(client, test_keys)
    created = client.post(
        "/users", json={"username": "ursula", "password": "password-0-long", "roles": []}, headers=admin
    )
    user_id = created.get_json()["id"]
    for change in range(5):
        # Each change ends the tokens issued before it: the next one is a fresh login's (ver claim).
        headers = test_keys.bearer(user_id, [], version=change)
        assert _change(client, headers, f"password-{change}-long", f"password-{change + 1}-long") == 204
    headers = test_keys.bearer(user_id, [], version=5)
    assert [_change(client, headers, "a wrong guess") for _ in range(4)] == [403, 403, 403, 429]


def _admin_headers(client: FlaskClient, test_keys: TestKeys) -> dict[str, str]:
    """The first admin's Authorization header."""
    found = client.post(
        "/internal/credentials",
        json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        headers={"Monty-Service-Secret": SERVICE_SECRET},
    )
    return test_keys.bearer(found.get_json()["id"], ["admin"])
