"""POST /internal/token-status: what the exchange and the archive ask to refuse revoked tokens."""

from flask.testing import FlaskClient

from support.problems import assert_problem
from support.users import UserMaker

URL = "/internal/token-status"


def _status(client: FlaskClient, secret_header: dict[str, str], user_id: str) -> tuple[bool, int]:
    """(active, token_version) of the user."""
    answer = client.post(URL, json={"user_id": user_id}, headers=secret_header)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["user_id"] == user_id
    return answer.get_json()["active"], answer.get_json()["token_version"]


def test_each_change_that_ends_tokens_raises_the_version(
    client: FlaskClient, admin: dict[str, str], new_user: UserMaker, secret_header: dict[str, str]
) -> None:
    """Disabling, taking a role away and a new password raise the version; enabling, giving a role
    and setting the same roles again do not; a deleted user is no longer active."""
    user = new_user("victor", roles=["producer"])
    url = f"/users/{user['id']}"
    steps = [
        (None, (True, 0)),
        (lambda: client.put(url + "/roles", json={"roles": ["producer"]}, headers=admin), (True, 0)),
        (
            lambda: client.put(url + "/roles", json={"roles": ["producer", "consumer"]}, headers=admin),
            (True, 0),
        ),
        (lambda: client.put(url + "/roles", json={"roles": ["consumer"]}, headers=admin), (True, 1)),
        (lambda: client.post(url + "/disable", headers=admin), (False, 2)),
        (lambda: client.post(url + "/enable", headers=admin), (True, 2)),
        (
            lambda: client.put(url + "/password", json={"password": "a-new-password"}, headers=admin),
            (True, 3),
        ),
        (lambda: client.delete(url, headers=admin), (False, 0)),
    ]
    for change, expected in steps:
        if change is not None:
            assert change().status_code in (200, 204)
        assert _status(client, secret_header, user["id"]) == expected


def test_an_unknown_user_is_not_active(client: FlaskClient, secret_header: dict[str, str]) -> None:
    """Any subject, even one that is no user id, is answered: not active."""
    assert _status(client, secret_header, "not-a-user") == (False, 0)


def test_the_service_secret_is_required(client: FlaskClient, new_user: UserMaker) -> None:
    """Without the services' secret the route answers 401."""
    user = new_user("wendy")
    assert_problem(client.post(URL, json={"user_id": user["id"]}), 401, "service-secret-required")


def test_an_admin_who_stays_admin_keeps_their_tokens(
    client: FlaskClient, admin: dict[str, str], new_user: UserMaker, secret_header: dict[str, str]
) -> None:
    """An admin losing a lesser role loses no power (admin passes every role check): their tokens
    stay valid; losing admin itself ends them."""
    user = new_user("ada", roles=["admin", "producer"])
    url = f"/users/{user['id']}/roles"
    assert client.put(url, json={"roles": ["admin"]}, headers=admin).status_code == 200
    assert _status(client, secret_header, user["id"]) == (True, 0)
    assert client.put(url, json={"roles": ["producer"]}, headers=admin).status_code == 200
    assert _status(client, secret_header, user["id"]) == (True, 1)
