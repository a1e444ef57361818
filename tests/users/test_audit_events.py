"""POST /internal/audit-events: the other services' events (redrives, throttled logins) in the audit log."""

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from support.problems import assert_problem

URL = "/internal/audit-events"
JSON = dict[str, Any]
REDRIVE: JSON = {
    "action": "dead_letters_redriven",
    "outcome": "failed",
    "actor_id": "6f1c2c1e-5a0e-4b8e-9d53-0a7c3f2f6f11",
    "actor": "root",
    "target": "orders",
    "request_id": "redrive-7",
    "client": "203.0.113.9",
    "details": {"requested": "all", "redriven": 3, "status": 503},
}


def _events(client: FlaskClient, admin: dict[str, str]) -> list[JSON]:
    """Every event, newest first."""
    page = client.get("/Audit", query_string={"limit": 200}, headers=admin)
    assert page.status_code == 200, page.get_json()
    items: list[JSON] = page.get_json()["items"]
    return items


def test_a_services_event_is_stored_as_sent_and_listed(
    client: FlaskClient, admin: dict[str, str], secret_header: dict[str, str]
) -> None:
    """201 with the stored event; GET /Audit lists it with the sent actor, target, request id and client
    (not the calling service's own request)."""
    answer = client.post(URL, json=REDRIVE, headers={**secret_header, "X-Request-Id": "the-call"})
    assert answer.status_code == 201, answer.get_json()
    stored = answer.get_json()
    newest = _events(client, admin)[0]
    assert newest == stored
    assert {key: newest[key] for key in REDRIVE} == REDRIVE
    throttled = {
        "action": "login_throttled",
        "outcome": "refused",
        "actor": "mallory",
        "client": "2001:db8::/64",
    }
    assert client.post(URL, json=throttled, headers=secret_header).status_code == 201
    newest = _events(client, admin)[0]
    assert (newest["action"], newest["actor"], newest["actor_id"], newest["client"]) == (
        "login_throttled",
        "mallory",
        None,
        "2001:db8::/64",
    )
    assert (newest["target"], newest["request_id"], newest["details"]) == (None, None, {})


@pytest.mark.parametrize(
    "headers",
    [{}, {"Monty-Service-Secret": "wrong-secret-0123456789"}],
    ids=["missing", "wrong"],
)
def test_the_service_secret_is_required(
    client: FlaskClient, admin: dict[str, str], headers: dict[str, str]
) -> None:
    """Without the services' secret: 401, even for an invalid body, and nothing is stored."""
    before = _events(client, admin)
    for body in (REDRIVE, {"action": "user_deleted"}):
        assert_problem(client.post(URL, json=body, headers=headers), 401, "service-secret-required")
    assert _events(client, admin) == before


def _refused(client: FlaskClient, admin: dict[str, str], secret_header: dict[str, str], body: object) -> JSON:
    """POST `body`: a 400 problem, and the audit log unchanged; the problem."""
    before = _events(client, admin)
    problem = assert_problem(client.post(URL, json=body, headers=secret_header), 400, "invalid-parameters")
    assert _events(client, admin) == before
    return problem


@pytest.mark.parametrize(
    "action", ["user_deleted", "roles_changed", "login_succeeded", "login_failed", "anything", ""]
)
def test_only_the_other_services_actions_are_taken(
    client: FlaskClient, admin: dict[str, str], secret_header: dict[str, str], action: str
) -> None:
    """A service cannot write an admin action or a login check into the log: 400, nothing stored."""
    problem = _refused(client, admin, secret_header, {**REDRIVE, "action": action})
    assert [param["name"] for param in problem["invalid_params"]] == ["action"]


@pytest.mark.parametrize(
    "details",
    [
        {f"member{number}": number for number in range(9)},
        {"note": "x" * 65},
        {"digits": "0" * 65},
        {"n" * 33: 1},
        {"nested": {"a": 1}},
        {"list": [1, 2]},
        {"float": 1.5},
        {"": 1},
        {"huge": 2**53},
        [],
        "text",
    ],
    ids=[
        "9-members",
        "long-text",
        "long-digits",
        "long-name",
        "object",
        "array",
        "float",
        "empty-name",
        "huge-integer",
        "list",
        "string",
    ],
)
def test_details_are_a_small_flat_object(
    client: FlaskClient, admin: dict[str, str], secret_header: dict[str, str], details: object
) -> None:
    """At most 8 members, named in up to 32 characters, each a string of up to 64 characters, an
    integer, a boolean or null."""
    _refused(client, admin, secret_header, {**REDRIVE, "details": details})


@pytest.mark.parametrize(
    "change",
    [
        {"outcome": "maybe"},
        {"request_id": "has spaces"},
        {"request_id": "r" * 129},
        {"client": "c" * 65},
        {"actor_id": "i" * 37},
        {"actor": "a" * 65},
        {"target": "t" * 256},
        {"actor": "nul\u0000byte"},
        {"details": {"note": "bell\u0007"}},
        {"time": "2020-01-01T00:00:00Z"},
        {"id": 1},
    ],
    ids=[
        "outcome",
        "request-id-pattern",
        "request-id-length",
        "client",
        "actor-id",
        "actor",
        "target",
        "actor-control-character",
        "details-control-character",
        "time",
        "id",
    ],
)
def test_every_field_is_bounded(
    client: FlaskClient, admin: dict[str, str], secret_header: dict[str, str], change: JSON
) -> None:
    """Values beyond the audit table's columns, control characters, a bad request id or outcome, and
    members the service sets itself (id, time) are refused."""
    _refused(client, admin, secret_header, {**REDRIVE, **change})


def test_the_largest_event_is_taken(
    client: FlaskClient, admin: dict[str, str], secret_header: dict[str, str]
) -> None:
    """Every field at its longest, in characters JSON escapes twice (beyond the BMP), still fits the
    user service's body limit: 201, stored whole."""
    wide = "\U0001f600"
    details: JSON = {f"{number}" + wide * 31: wide * 64 for number in range(8)}
    event = {
        **REDRIVE,
        "actor_id": wide * 36,
        "actor": wide * 64,
        "target": wide * 255,
        "client": wide * 64,
        "request_id": "r" * 128,
        "details": details,
    }
    body = json.dumps(event)  # escaped as ASCII: the longest form of the event
    assert len(body) > 14 * 1024
    answer = client.post(URL, data=body, content_type="application/json", headers=secret_header)
    assert answer.status_code == 201, answer.get_json()
    assert {key: value for key, value in _events(client, admin)[0].items() if key in event} == event


def test_details_take_safe_integers_booleans_null_and_empty_text(
    client: FlaskClient, admin: dict[str, str], secret_header: dict[str, str]
) -> None:
    """The other kinds of detail, at their bounds; an integer may be written as a whole float (JSON
    Schema's integer), and a string of digits stays a string."""
    details = {"big": 2**53 - 1, "small": -(2**53) + 1, "flag": False, "nothing": None, "empty": ""}
    details |= {"whole": 3.0, "digits": "0042"}
    answer = client.post(URL, json={**REDRIVE, "details": details}, headers=secret_header)
    assert answer.status_code == 201, answer.get_json()
    assert _events(client, admin)[0]["details"] == {**details, "whole": 3}
