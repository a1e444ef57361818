"""POST /internal/credentials: only for the services, and every failed sign-in answers alike."""

import pytest
from flask.testing import FlaskClient

from support.problems import assert_problem
from support.tokens import TestKeys
from support.users import UserMaker

URL = "/internal/credentials"
GOOD = {"username": "kate", "password": "kate-password-1"}


def test_valid_credentials_answer_the_user(
    client: FlaskClient, new_user: UserMaker, secret_header: dict[str, str]
) -> None:
    """Any capitalisation of the username signs in; the answer holds id, username, roles and the token
    version only."""
    user = new_user("Kate", password="kate-password-1", roles=["producer", "consumer"])
    response = client.post(URL, json={**GOOD, "username": "KATE"}, headers=secret_header)
    assert response.status_code == 200
    assert response.get_json() == {
        "id": user["id"],
        "username": "Kate",
        "roles": ["consumer", "producer"],
        "token_version": 0,
    }


@pytest.mark.parametrize(
    "headers",
    [{}, {"Monty-Service-Secret": "wrong-secret-0123456789"}, {"Monty-Service-Secret": ""}],
    ids=["missing", "wrong", "empty"],
)
def test_service_secret_is_required(
    client: FlaskClient, new_user: UserMaker, headers: dict[str, str]
) -> None:
    """Without the right secret the route answers 401, even for valid credentials or a bad body."""
    new_user("kate", password="kate-password-1")
    for body in (GOOD, {"nonsense": True}):
        response = client.post(URL, json=body, headers=headers)
        assert_problem(response, 401, "service-secret-required")


def test_a_user_token_does_not_open_the_internal_route(
    client: FlaskClient, new_user: UserMaker, test_keys: TestKeys
) -> None:
    """An admin's bearer token is no service secret."""
    new_user("kate", password="kate-password-1")
    response = client.post(URL, json=GOOD, headers=test_keys.bearer("some-admin", ["admin"]))
    assert response.status_code == 401


def test_failures_are_indistinguishable(
    client: FlaskClient, admin: dict[str, str], new_user: UserMaker, secret_header: dict[str, str]
) -> None:
    """Unknown user, wrong password and disabled user get the same status, headers and body."""
    new_user("kate", password="kate-password-1")
    disabled = new_user("leo", password="leo-password-12")
    assert client.post(f"/users/{disabled['id']}/disable", headers=admin).status_code == 200
    answers = [
        client.post(URL, json={"username": "nobody", "password": "kate-password-1"}, headers=secret_header),
        client.post(URL, json={"username": "kate", "password": "not-her-password"}, headers=secret_header),
        client.post(URL, json={"username": "leo", "password": "leo-password-12"}, headers=secret_header),
    ]
    expected = {
        "type": "urn:monty:problem:invalid-credentials",
        "title": "Invalid Credentials",
        "status": 401,
        "detail": "Invalid username or password.",
    }
    for response in answers:
        assert assert_problem(response, 401) == expected
    assert len({response.data for response in answers}) == 1
    # Each answer carries its own request's id; every other header must match.
    headers = [
        sorted((k, v) for k, v in response.headers.items() if k != "X-Request-Id") for response in answers
    ]
    assert len({tuple(items) for items in headers}) == 1
    enabled = client.post(f"/users/{disabled['id']}/enable", headers=admin)
    assert enabled.status_code == 200
    again = client.post(URL, json={"username": "leo", "password": "leo-password-12"}, headers=secret_header)
    assert again.status_code == 200
