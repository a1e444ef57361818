"""The user service reads bodies with the strict JSON reader: 400 problems, never a 500."""

from flask.testing import FlaskClient

from support.problems import assert_problem


def test_deep_nesting_is_400_not_500(client: FlaskClient, admin: dict[str, str]) -> None:
    """3000 nested arrays are refused as invalid JSON, not a server error with a stack trace."""
    response = client.post("/users", data=b"[" * 3000, content_type="application/json", headers=admin)
    body = assert_problem(response, 400, "invalid-json")
    assert "nested too deeply" in body["detail"]


def test_duplicate_keys_are_400(client: FlaskClient, admin: dict[str, str]) -> None:
    """A user given two sets of roles is refused, naming the key."""
    raw = b'{"username": "dora", "password": "a long passphrase", "roles": ["admin"], "roles": []}'
    response = client.post("/users", data=raw, content_type="application/json", headers=admin)
    body = assert_problem(response, 400, "invalid-json")
    assert body["invalid_params"] == [{"name": "/roles", "reason": "duplicate key"}]


def test_a_body_is_read_only_after_the_caller_is_known(client: FlaskClient) -> None:
    """Without a token a deep body is still 401: the caller is checked before the body is read."""
    response = client.post("/users", data=b"[" * 3000, content_type="application/json")
    assert_problem(response, 401)
