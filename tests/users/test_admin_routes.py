"""Admins create, list, read, change and delete users; others may not."""

from typing import Any

import pytest
from flask.testing import FlaskClient

from monty_common.problems import ProblemError
from support.problems import assert_problem
from support.tokens import TestKeys
from support.users import ADMIN_USERNAME, UserMaker
from user_service import accounts

USER_KEYS = {"id", "username", "roles", "disabled", "created_at", "updated_at"}


def test_admin_crud_flow(client: FlaskClient, admin: dict[str, str]) -> None:
    """Create, read, change roles, disable, enable, reset the password and delete one user."""
    created = client.post(
        "/users",
        json={"username": "Alice", "password": "alice-password-1", "roles": ["producer", "consumer"]},
        headers=admin,
    )
    assert created.status_code == 201
    user = created.get_json()
    assert set(user) == USER_KEYS
    assert user["username"] == "Alice"
    assert user["roles"] == ["consumer", "producer"]
    assert user["disabled"] is False
    assert created.headers["Location"] == f"/users/{user['id']}"
    url = created.headers["Location"]

    assert client.get(url, headers=admin).get_json() == user

    roles = client.put(url + "/roles", json={"roles": ["consumer"]}, headers=admin)
    assert roles.status_code == 200
    assert roles.get_json()["roles"] == ["consumer"]
    assert roles.get_json()["updated_at"] > user["updated_at"]

    disabled = client.post(url + "/disable", headers=admin)
    assert disabled.status_code == 200
    assert disabled.get_json()["disabled"] is True
    enabled = client.post(url + "/enable", headers=admin)
    assert enabled.status_code == 200
    assert enabled.get_json()["disabled"] is False

    reset = client.put(url + "/password", json={"password": "a-new-password"}, headers=admin)
    assert reset.status_code == 204
    assert reset.data == b""

    deleted = client.delete(url, headers=admin)
    assert deleted.status_code == 204
    for method in ("get", "delete"):
        gone = getattr(client, method)(url, headers=admin)
        assert_problem(gone, 404, "user-not-found")


@pytest.mark.parametrize(
    "path", ["/roles", "/disable", "/enable", "/password"], ids=["roles", "disable", "enable", "password"]
)
def test_unknown_user_is_404(client: FlaskClient, admin: dict[str, str], path: str) -> None:
    """Every per-user route answers 404 for an id no user has."""
    method = client.post if path in ("/disable", "/enable") else client.put
    body: dict[str, Any] = {"roles": []} if path == "/roles" else {"password": "a-good-password"}
    response = method(f"/users/00000000-0000-4000-8000-000000000000{path}", json=body, headers=admin)
    assert_problem(response, 404, "user-not-found")


@pytest.mark.parametrize("spelling", ["alice", "ALICE", "aLiCe"])
def test_usernames_are_unique_ignoring_case(
    client: FlaskClient, admin: dict[str, str], new_user: UserMaker, spelling: str
) -> None:
    """A name differing from an existing one only in case is refused with 409."""
    new_user("Alice")
    response = client.post(
        "/users", json={"username": spelling, "password": "another-password"}, headers=admin
    )
    assert_problem(response, 409, "username-taken")


@pytest.mark.parametrize(
    "body",
    [
        {"username": "bob", "password": "a-good-password", "roles": ["root"]},
        {"username": "bob", "password": "a-good-password", "roles": "admin"},
        {"username": "bob smith", "password": "a-good-password"},
        {"username": "", "password": "a-good-password"},
        {"username": "b" * 65, "password": "a-good-password"},
        {"username": "bob", "password": "a-good-password", "extra": 1},
    ],
    ids=["unknown-role", "roles-not-list", "space-in-name", "empty-name", "long-name", "unknown-member"],
)
def test_invalid_new_user_is_400(client: FlaskClient, admin: dict[str, str], body: dict[str, Any]) -> None:
    """Unknown roles, bad usernames and unknown members are refused as invalid parameters."""
    response = client.post("/users", json=body, headers=admin)
    assert_problem(response, 400, "invalid-parameters")
    listed = client.get("/users", headers=admin).get_json()["items"]
    assert [user["username"] for user in listed] == [ADMIN_USERNAME]


def test_setting_an_unknown_role_is_400(
    client: FlaskClient, admin: dict[str, str], new_user: UserMaker
) -> None:
    """PUT roles accepts only admin, producer and consumer."""
    user = new_user("carol")
    response = client.put(f"/users/{user['id']}/roles", json={"roles": ["superuser"]}, headers=admin)
    assert response.status_code == 400
    assert client.get(f"/users/{user['id']}", headers=admin).get_json()["roles"] == ["producer"]


def test_an_admin_cannot_remove_their_own_admin_access(
    client: FlaskClient, admin: dict[str, str], new_user: UserMaker, test_keys: TestKeys
) -> None:
    """Demoting, disabling or deleting oneself, or resetting one's password without the current one,
    is refused even beside another admin, who may do it."""
    root = client.get("/users", headers=admin).get_json()["items"][0]
    url = f"/users/{root['id']}"
    second = new_user("second-admin", roles=["admin"])
    for response in (
        client.put(url + "/roles", json={"roles": ["producer"]}, headers=admin),
        client.post(url + "/disable", headers=admin),
        client.delete(url, headers=admin),
        client.put(url + "/password", json={"password": "a stolen token's pick"}, headers=admin),
    ):
        assert_problem(response, 409, "own-admin-access")
    assert client.put(url + "/roles", json={"roles": ["admin", "producer"]}, headers=admin).status_code == 200
    assert client.delete(url, headers=test_keys.bearer(second["id"], ["admin"])).status_code == 204


def test_last_enabled_admin_cannot_be_removed(client: FlaskClient, admin: dict[str, str]) -> None:
    """Below the routes, demoting, disabling or deleting the only enabled admin is refused."""
    root = client.get("/users", headers=admin).get_json()["items"][0]["id"]
    with client.application.app_context():
        for change in (
            lambda: accounts.set_roles(root, ["producer"]),
            lambda: accounts.set_disabled(root, True),
            lambda: accounts.delete_user(root),
        ):
            with pytest.raises(ProblemError) as refused:
                change()
            assert refused.value.slug == "last-admin"
    assert client.get(f"/users/{root}", headers=admin).get_json()["roles"] == ["admin"]


def test_admin_routes_need_a_token(client: FlaskClient, new_user: UserMaker, test_keys: TestKeys) -> None:
    """Without a token, or with a forged one, admin routes answer 401 before looking at the body."""
    user = new_user("dave")
    forged = test_keys.token("some-admin", ["admin"])[:-4] + "AAAA"
    for headers in ({}, {"Authorization": f"Bearer {forged}"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
        for response in (
            client.post("/users", json={"nonsense": True}, headers=headers),
            client.get("/users", headers=headers),
            client.get(f"/users/{user['id']}", headers=headers),
            client.delete(f"/users/{user['id']}", headers=headers),
        ):
            assert_problem(response, 401)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_admin_routes_refuse_other_roles(
    client: FlaskClient, new_user: UserMaker, test_keys: TestKeys
) -> None:
    """A producer's or consumer's token gets 403 on every admin route, and nothing changes."""
    user = new_user("erin")
    headers = test_keys.bearer(user["id"], ["producer", "consumer"])
    url = f"/users/{user['id']}"
    for response in (
        client.post("/users", json={"username": "x", "password": "a-good-password"}, headers=headers),
        client.get("/users", headers=headers),
        client.get(url, headers=headers),
        client.put(url + "/roles", json={"roles": ["admin"]}, headers=headers),
        client.post(url + "/disable", headers=headers),
        client.post(url + "/enable", headers=headers),
        client.put(url + "/password", json={"password": "a-good-password"}, headers=headers),
        client.delete(url, headers=headers),
    ):
        assert_problem(response, 403, "forbidden")


def test_admin_token_loses_its_power_when_the_admin_is_disabled_demoted_or_deleted(
    client: FlaskClient, admin: dict[str, str], test_keys: TestKeys, new_user: UserMaker
) -> None:
    """Admin routes check the stored user, not only the token's roles: each of these changes revokes
    the tokens issued before it (401), and a token naming a role its user lost gets 403."""
    mallory = new_user("mallory", roles=["admin"])
    token = test_keys.bearer(mallory["id"], ["admin"])
    assert client.get("/users", headers=token).status_code == 200

    client.put(f"/users/{mallory['id']}/roles", json={"roles": ["producer"]}, headers=admin)
    assert_problem(client.get("/users", headers=token), 401, "unauthorized")
    # Token version 1, from a login after the demotion, yet claiming admin.
    assert_problem(
        client.get("/users", headers=test_keys.bearer(mallory["id"], ["admin"], 1)), 403, "forbidden"
    )

    # Giving a role back revokes nothing: the version stays 1.
    client.put(f"/users/{mallory['id']}/roles", json={"roles": ["admin", "producer"]}, headers=admin)
    token = test_keys.bearer(mallory["id"], ["admin"], 1)
    assert client.get("/users", headers=token).status_code == 200
    client.post(f"/users/{mallory['id']}/disable", headers=admin)
    assert client.post(f"/users/{mallory['id']}/enable", headers=token).status_code == 401

    client.delete(f"/users/{mallory['id']}", headers=admin)
    assert client.get("/users", headers=token).status_code == 401
