"""The audit log: admin actions and logins recorded in the user service's database, listed by GET /Audit."""

from typing import Any

import pytest
from flask.testing import FlaskClient

from support.tokens import TestKeys
from support.users import ADMIN_PASSWORD, ADMIN_USERNAME, UserMaker, dump_database

JSON = dict[str, Any]


def _events(client: FlaskClient, admin: dict[str, str], **query: object) -> JSON:
    """One page of GET /Audit."""
    response = client.get("/Audit", query_string=query, headers=admin)
    assert response.status_code == 200, response.get_json()
    page: JSON = response.get_json()
    return page


def _admin_events(client: FlaskClient, admin: dict[str, str]) -> list[JSON]:
    """Every event of an admin's request, oldest first (not the logins, nor the first admin that
    init-db made)."""
    items = _events(client, admin, limit=200)["items"]
    return [
        event
        for event in reversed(items)
        if not event["action"].startswith("login_") and event["actor"] != "command line"
    ]


def test_each_admin_action_is_recorded_with_actor_target_and_request_id(
    client: FlaskClient, admin: dict[str, str], new_user: UserMaker, database_url: str
) -> None:
    """Create, set roles, disable, enable, reset the password, delete: one event each, in order."""
    admin_id = client.get("/users/me", headers=admin).get_json()["id"]
    user = new_user("alice", roles=["producer"])
    target = f"/users/{user['id']}"
    acts = [
        client.put(
            f"{target}/roles", json={"roles": ["consumer"]}, headers={**admin, "X-Request-Id": "roles-1"}
        ),
        client.post(f"{target}/disable", headers=admin),
        client.post(f"{target}/enable", headers=admin),
        client.put(f"{target}/password", json={"password": "a-secret-new-password"}, headers=admin),
        client.delete(target, headers=admin),
    ]
    assert [act.status_code for act in acts] == [200, 200, 200, 204, 204]
    events = _admin_events(client, admin)
    assert [event["action"] for event in events] == [
        "user_created",
        "roles_changed",
        "user_disabled",
        "user_enabled",
        "password_reset",
        "user_deleted",
    ]
    for event in events:
        assert event["actor_id"] == admin_id
        assert event["actor"] == ADMIN_USERNAME
        assert event["target"] == user["id"]
        assert event["outcome"] == "succeeded"
        assert event["client"] == "127.0.0.1"
        assert event["request_id"]
    assert events[1]["request_id"] == "roles-1"
    assert events[1]["details"] == {"roles": ["consumer"], "previous_roles": ["producer"]}
    assert events[0]["details"] == {"username": "alice", "roles": ["producer"]}
    dump = dump_database(database_url)
    assert "a-secret-new-password" not in dump
    assert "a-good-password" not in dump


def test_a_refused_admin_action_is_recorded_as_refused(
    client: FlaskClient, admin: dict[str, str], new_user: UserMaker
) -> None:
    """Creating a taken name answers 409 and leaves a refused event, with no change recorded as done."""
    new_user("bob")
    taken = client.post("/users", json={"username": "BOB", "password": "a-good-password"}, headers=admin)
    assert taken.status_code == 409
    last = _admin_events(client, admin)[-1]
    assert (last["action"], last["outcome"], last["details"]) == ("user_created", "refused", {"status": 409})


def test_logins_are_recorded_without_the_password(
    client: FlaskClient, admin: dict[str, str], secret_header: dict[str, str], database_url: str
) -> None:
    """A failed and a successful credential check each leave an event; the password is nowhere stored."""
    wrong = client.post(
        "/internal/credentials",
        json={"username": ADMIN_USERNAME, "password": "the-wrong-password-42", "client": "203.0.113.9"},
        headers={**secret_header, "X-Request-Id": "login-1"},
    )
    assert wrong.status_code == 401
    right = client.post(
        "/internal/credentials",
        json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        headers=secret_header,
    )
    assert right.status_code == 200
    newest, failed = _events(client, admin, limit=2)["items"]
    assert (failed["action"], failed["outcome"], failed["actor"]) == (
        "login_failed",
        "refused",
        ADMIN_USERNAME,
    )
    assert (failed["client"], failed["request_id"], failed["actor_id"]) == ("203.0.113.9", "login-1", None)
    assert (newest["action"], newest["actor_id"], newest["target"]) == (
        "login_succeeded",
        right.get_json()["id"],
        right.get_json()["id"],
    )
    dump = dump_database(database_url)
    assert "the-wrong-password-42" not in dump
    assert ADMIN_PASSWORD not in dump


def test_pages_go_newest_first_and_follow_the_cursor(
    client: FlaskClient, admin: dict[str, str], new_user: UserMaker
) -> None:
    """Pages of 2 list every event once, ids descending, the last with next_cursor null."""
    for name in ("u1", "u2", "u3", "u4"):
        new_user(name)
    ids: list[int] = []
    before: int | None = None
    while True:
        page = _events(client, admin, limit=2, **({"before": before} if before else {}))
        assert len(page["items"]) <= 2
        ids += [event["id"] for event in page["items"]]
        before = page["next_cursor"]
        if before is None:
            break
    # The first admin made by init-db, the admin fixture's login, then four creations.
    assert len(ids) == 6
    assert ids == sorted(ids, reverse=True)


@pytest.mark.parametrize(
    "query", [{"limit": 0}, {"limit": 201}, {"limit": "x"}, {"before": 0}, {"before": 2**31}, {"before": "x"}]
)
def test_bad_parameters_answer_a_problem(client: FlaskClient, admin: dict[str, str], query: JSON) -> None:
    """The limit is bounded (1 to 200) and the cursor is a positive 32-bit id."""
    response = client.get("/Audit", query_string=query, headers=admin)
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


def test_only_admins_list_the_audit_log(
    client: FlaskClient, new_user: UserMaker, test_keys: TestKeys
) -> None:
    """No token answers 401, a non-admin's token 403."""
    user = new_user("carol", roles=["producer", "consumer"])
    assert client.get("/Audit").status_code == 401
    forbidden = client.get("/Audit", headers=test_keys.bearer(user["id"], ["producer", "consumer"]))
    assert forbidden.status_code == 403
    assert forbidden.content_type == "application/problem+json"
