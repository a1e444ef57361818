"""/users/me: a user's own profile and password, for as long as the account exists and is enabled."""

from flask.testing import FlaskClient

from support.problems import assert_problem
from support.tokens import TestKeys
from support.users import UserMaker


def _sign_in(client: FlaskClient, secret_header: dict[str, str], username: str, password: str) -> int:
    """The status /internal/credentials answers."""
    body = {"username": username, "password": password}
    return client.post("/internal/credentials", json=body, headers=secret_header).status_code


def test_me_answers_the_tokens_user(client: FlaskClient, new_user: UserMaker, test_keys: TestKeys) -> None:
    """Any valid token, whatever its roles, reads its own user (not a user named 'me')."""
    user = new_user("mallory", roles=["consumer"])
    for roles in (["consumer"], [], ["admin"]):
        response = client.get("/users/me", headers=test_keys.bearer(user["id"], roles))
        assert response.status_code == 200
        assert response.get_json() == user


def test_me_needs_a_valid_token(client: FlaskClient, new_user: UserMaker, test_keys: TestKeys) -> None:
    """Missing, forged or expired tokens get 401."""
    user = new_user("niaj")
    forged = test_keys.token(user["id"], ["producer"])[:-4] + "AAAA"
    expired = test_keys.token(user["id"], ["producer"], exp=1, iat=0)
    for headers in ({}, {"Authorization": f"Bearer {forged}"}, {"Authorization": f"Bearer {expired}"}):
        response = client.get("/users/me", headers=headers)
        assert_problem(response, 401, "unauthorized")


def test_deleted_or_disabled_users_token_is_refused(
    client: FlaskClient, admin: dict[str, str], new_user: UserMaker, test_keys: TestKeys
) -> None:
    """A token outliving its user's deletion or disabling gets 401 on /users/me."""
    disabled = new_user("olivia")
    deleted = new_user("peggy")
    assert client.post(f"/users/{disabled['id']}/disable", headers=admin).status_code == 200
    assert client.delete(f"/users/{deleted['id']}", headers=admin).status_code == 204
    body = {"old_password": "a-good-password", "new_password": "another-password"}
    for user in (disabled, deleted):
        headers = test_keys.bearer(user["id"], ["producer"])
        for response in (
            client.get("/users/me", headers=headers),
            client.put("/users/me/password", json=body, headers=headers),
        ):
            assert_problem(response, 401, "unauthorized")
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_change_own_password(
    client: FlaskClient, new_user: UserMaker, test_keys: TestKeys, secret_header: dict[str, str]
) -> None:
    """With the right old password the new one replaces it."""
    user = new_user("quinn", password="quinn-old-password")
    body = {"old_password": "quinn-old-password", "new_password": "quinn-new-password"}
    response = client.put("/users/me/password", json=body, headers=test_keys.bearer(user["id"], ["consumer"]))
    assert response.status_code == 204
    assert _sign_in(client, secret_header, "quinn", "quinn-new-password") == 200
    assert _sign_in(client, secret_header, "quinn", "quinn-old-password") == 401


def test_change_own_password_refuses_a_wrong_old_password(
    client: FlaskClient, new_user: UserMaker, test_keys: TestKeys, secret_header: dict[str, str]
) -> None:
    """A wrong or missing old password is refused and the password stays."""
    user = new_user("rupert", password="rupert-password")
    headers = test_keys.bearer(user["id"], ["consumer"])
    wrong = {"old_password": "not-the-password", "new_password": "rupert-new-password"}
    response = client.put("/users/me/password", json=wrong, headers=headers)
    assert_problem(response, 403, "wrong-password")
    missing = client.put("/users/me/password", json={"new_password": "rupert-new-password"}, headers=headers)
    assert missing.status_code == 400
    assert _sign_in(client, secret_header, "rupert", "rupert-password") == 200
    assert _sign_in(client, secret_header, "rupert", "rupert-new-password") == 401
