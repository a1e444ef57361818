"""Dead letters: admins list and inspect them without removing them, and redrive them to their queue.

Dead letters are put in the dead-letter queue as the gateway does once a message's deliveries run
out (support/dead_letters.py), on the real broker.
"""

import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pika
import pytest
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI
from openapi_spec_validator import validate
from werkzeug.test import TestResponse

from exchange_service.extensions import dead_letters
from monty_common.broker import BrokerUnavailable, dead_letter_queue_of
from monty_common.broker.browser import Browse, BrowsedMessage
from monty_common.dead_letters import DEAD_LETTER_HEADERS
from monty_common.lifecycle import close_app
from monty_common.openapi_app import OPENAPI_URL
from support.broker_admin import get_raw, queue_depth
from support.dead_letters import DELIVERIES, LAST_ERROR, REASON, dead_letter_all, put_foreign
from support.names import Names
from support.problems import assert_problem
from support.queue_types import queue_type_under_test
from support.rabbit_node import RabbitNode
from support.tokens import TestKeys

# Bodies whose exact bytes must survive the round trip (spacing, number forms, escapes).
BODIES = [b'{"n": 0,  "price": 1.50}', b'[1, 2.0e3, "\\u00e9"]', b'"two"', b'{"n": 3}', b"null"]
MESSAGE_KEYS = {
    "message_id",
    "published_at",
    "redelivered",
    "producer",
    "producer_name",
    "producer_verified",
    "content_type",
    "headers",
    "request_id",
    "traceparent",
    "body",
    "dead_letter",
}


def dead_letters_of(client: FlaskClient, amqp_url: str, names: Names, bodies: list[bytes]) -> list[str]:
    """Publish `bodies` through the gateway and move them to the dead-letter queue; their message_ids."""
    ids = []
    for body in bodies:
        published = client.post("/Message", data=body, content_type="application/json")
        assert published.status_code == 200, published.get_data(as_text=True)
        ids.append(published.get_json()["message_id"])
    assert len(dead_letter_all(amqp_url, names.queue)) == len(bodies)
    return ids


def listing(client: FlaskClient, names: Names, query: str = "") -> dict[str, Any]:
    """GET the queue's dead letters; the answer's JSON."""
    response = client.get(f"/Queues/{names.queue}/dead-letters{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    answer: dict[str, Any] = response.get_json()
    return answer


def redrive(client: FlaskClient, names: Names, body: object) -> TestResponse:
    """POST a redrive."""
    return client.post(f"/Queues/{names.queue}/dead-letters/redrive", json=body)


def body_bytes(response: TestResponse) -> bytes:
    """The exact body of a GET /Consume answer."""
    assert response.headers["Monty-Queue-Empty"] == "false"
    return response.get_data()


def test_the_list_shows_the_oldest_first_with_why_and_removes_nothing(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """Each dead letter as a batch consume shows it plus its dead_letter object; listed twice, the
    same; the dead-letter queue still holds them all (browsing marks them redelivered)."""
    before = datetime.now(UTC)
    ids = dead_letters_of(client, amqp_url, names, BODIES[:3])
    first = listing(client, names)
    assert (first["count"], first["total"], first["byte_limited"]) == (3, 3, False)
    assert [m["message_id"] for m in first["messages"]] == ids
    assert [m["body"] for m in first["messages"]] == [{"n": 0, "price": 1.5}, [1, 2000.0, "\u00e9"], "two"]
    for message in first["messages"]:
        assert set(message) == MESSAGE_KEYS
        assert message["producer"] == "admin-user"
        assert message["producer_verified"] is True  # the copy keeps the producer's signature
        assert message["content_type"] == "application/json"
        letter = message["dead_letter"]
        assert (letter["reason"], letter["last_error"], letter["delivery_count"]) == (
            REASON,
            LAST_ERROR,
            DELIVERIES,
        )
        assert letter["source_queue"] == names.queue
        assert before - timedelta(seconds=1) <= datetime.fromisoformat(letter["dead_lettered_at"])
        assert letter["dead_lettered_at"].endswith("+00:00")
    assert [m["redelivered"] for m in first["messages"]] == [False] * 3
    second = listing(client, names)
    assert [m["message_id"] for m in second["messages"]] == ids
    assert [m["redelivered"] for m in second["messages"]] == [True] * 3
    assert queue_depth(amqp_url, dead_letter_queue_of(names.queue)) == 3


def test_max_bounds_the_list_and_total_counts_them_all(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """?max=2 shows the two oldest of five; the default shows up to ten; max outside 1..100 is 400."""
    ids = dead_letters_of(client, amqp_url, names, BODIES)
    two = listing(client, names, "?max=2")
    assert [m["message_id"] for m in two["messages"]] == ids[:2]
    assert (two["count"], two["total"]) == (2, 5)
    assert listing(client, names)["count"] == 5
    for bad in ("0", "101", "ten"):
        assert_problem(client.get(f"/Queues/{names.queue}/dead-letters?max={bad}"), 400)


def test_an_empty_or_never_declared_dead_letter_queue_lists_nothing(
    client: FlaskClient, names: Names
) -> None:
    """No dead letters: an empty list, not an error."""
    assert listing(client, names) == {"messages": [], "count": 0, "total": 0, "byte_limited": False}


def test_a_dead_letter_is_inspected_by_id_and_an_unknown_id_is_404(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """GET .../dead-letters/{message_id} shows that one, left in place; another id is a 404 problem."""
    ids = dead_letters_of(client, amqp_url, names, BODIES[:3])
    response = client.get(f"/Queues/{names.queue}/dead-letters/{ids[1]}")
    assert response.status_code == 200
    shown = response.get_json()
    assert set(shown) == MESSAGE_KEYS
    assert (shown["message_id"], shown["body"]) == (ids[1], [1, 2000.0, "\u00e9"])
    assert shown["dead_letter"]["reason"] == REASON
    assert_problem(client.get(f"/Queues/{names.queue}/dead-letters/no-such-id"), 404, "dead-letter-not-found")
    assert [m["message_id"] for m in listing(client, names)["messages"]] == ids


def test_the_document_describes_the_dead_letter_routes(client: FlaskClient, names: Names) -> None:
    """Three admin operations under the tag "dead letters", the served queue the one value of {queue},
    the list linking to the lookup, both redrive bodies, and the browsing caveat said."""
    document = client.get(OPENAPI_URL).get_json()
    validate(document)
    base = "/Queues/{queue}/dead-letters"
    operations = {
        "list": document["paths"][base]["get"],
        "inspect": document["paths"][f"{base}/{{message_id}}"]["get"],
        "redrive": document["paths"][f"{base}/redrive"]["post"],
    }
    for operation in operations.values():
        assert operation["tags"] == ["dead letters"]
        assert operation["security"] == [{"bearer": []}]
        assert {"401", "403", "404", "503"} <= set(operation["responses"])
        queue = next(p for p in operation["parameters"] if p["name"] == "queue")
        assert queue["schema"]["enum"] == [names.queue]
        assert "invisible to other browsers" in operation["description"]
        assert "redelivered" in operation["description"]
    link = operations["list"]["responses"]["200"]["links"]["FirstDeadLetter"]
    assert link["operationId"] == operations["inspect"]["operationId"]
    forms = operations["redrive"]["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert [sorted(form["required"]) for form in forms] == [["message_ids"], ["all"]]


def test_the_redrive_path_takes_only_post(client: FlaskClient, names: Names) -> None:
    """.../dead-letters/redrive is the redrive route, never a dead letter's id: GET there is 405 and
    OPTIONS names POST alone (a dead letter with that id is seen in the list)."""
    path = f"/Queues/{names.queue}/dead-letters/redrive"
    refused = assert_problem(client.get(path), 405)
    assert refused["type"] == "about:blank"
    assert set(client.options(path).headers["Allow"].split(", ")) == {"POST", "OPTIONS"}


def test_a_producers_own_headers_stay_on_the_dead_letter_and_its_redriven_copy(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """Headers the producer attached are shown on the dead letter and come back with the message,
    its producer still verified."""
    published = client.post("/Message", json={"order": 17}, headers={"Monty-Header-Tenant": "acme"})
    assert published.status_code == 200
    dead_letter_all(amqp_url, names.queue)
    shown = listing(client, names)["messages"][0]
    assert (shown["headers"], shown["producer_verified"]) == ({"tenant": "acme"}, True)
    assert redrive(client, names, {"all": True}).get_json()["redriven"] == 1
    consumed = client.get("/Consume")
    assert consumed.get_json() == {"order": 17}
    assert consumed.headers["Monty-Header-tenant"] == "acme"
    assert consumed.headers["Monty-Producer-Verified"] == "true"


def test_redriving_by_id_puts_back_only_those_exactly_as_published(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """The chosen dead letters leave the dead-letter queue and come back to their queue, body byte
    for byte, id and signed producer kept, dead-letter headers gone; the others stay in order."""
    ids = dead_letters_of(client, amqp_url, names, BODIES[:4])
    response = redrive(client, names, {"message_ids": [ids[2], "missing", ids[0], ids[2]]})
    assert response.status_code == 200, response.get_data(as_text=True)
    # In dead-letter queue order; an id asked twice is redriven once.
    assert response.get_json() == {"redriven": 2, "message_ids": [ids[0], ids[2]], "not_found": ["missing"]}
    assert [m["message_id"] for m in listing(client, names)["messages"]] == [ids[1], ids[3]]
    consumed = client.get("/Consume")
    assert body_bytes(consumed) == BODIES[0]
    assert consumed.headers["Monty-Message-Id"] == ids[0]
    assert consumed.headers["Monty-Producer-Verified"] == "true"
    assert consumed.headers["Monty-Redelivered"] == "false"
    raw = get_raw(amqp_url, names.queue)
    assert raw is not None
    _method, properties, body = raw
    assert body == BODIES[2]
    assert properties.message_id == ids[2]
    assert set(properties.headers).isdisjoint(DEAD_LETTER_HEADERS)
    assert client.get("/Consume").headers["Monty-Queue-Empty"] == "true"


def test_redriving_all_empties_the_dead_letter_queue_in_order(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """{"all": true} puts every dead letter back, oldest first."""
    ids = dead_letters_of(client, amqp_url, names, BODIES)
    response = redrive(client, names, {"all": True})
    assert response.status_code == 200
    assert response.get_json() == {"redriven": 5, "message_ids": ids, "not_found": []}
    assert queue_depth(amqp_url, dead_letter_queue_of(names.queue)) == 0
    assert [body_bytes(client.get("/Consume")) for _ in BODIES] == BODIES
    assert redrive(client, names, {"all": True}).get_json() == {
        "redriven": 0,
        "message_ids": [],
        "not_found": [],
    }


def test_one_call_looks_through_at_most_the_scan_limit(
    make_app: Callable[..., OpenAPI], amqp_url: str, names: Names
) -> None:
    """With MONTY_DEAD_LETTER_SCAN=3, the fourth dead letter is not found by id, and a redrive of all
    puts back three; the next call the rest."""
    client = make_app(dead_letter_scan=3).test_client()
    ids = dead_letters_of(client, amqp_url, names, BODIES[:4])
    assert_problem(client.get(f"/Queues/{names.queue}/dead-letters/{ids[3]}"), 404, "dead-letter-not-found")
    assert client.get(f"/Queues/{names.queue}/dead-letters/{ids[2]}").status_code == 200
    assert redrive(client, names, {"message_ids": [ids[3]]}).get_json()["not_found"] == [ids[3]]
    assert redrive(client, names, {"all": True}).get_json()["message_ids"] == ids[:3]
    assert redrive(client, names, {"all": True}).get_json()["message_ids"] == ids[3:]


def test_messages_other_clients_put_there_are_listed_and_redriven(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """No headers, no id, a body that is not JSON, headers of any type: shown with nulls, no error."""
    put_foreign(amqp_url, names.queue, b"\xff\x00 binary", pika.BasicProperties())
    put_foreign(
        amqp_url,
        names.queue,
        b"{not json",
        pika.BasicProperties(
            content_type="application/json",
            message_id="foreign-1",
            headers={"dead_letter_reason": 7, "deliveries": "many", "dead_lettered_at": "soon"},
        ),
    )
    answer = listing(client, names)
    assert answer["count"] == 2
    unknown = {
        "reason": None,
        "last_error": None,
        "delivery_count": None,
        "dead_lettered_at": None,
        "source_queue": None,
    }
    first, second = answer["messages"]
    assert first["message_id"] is None
    assert first["body_base64"] == "/wAgYmluYXJ5"
    assert first["content_type"] == "application/octet-stream"
    assert first["producer_verified"] is False
    assert first["dead_letter"] == unknown
    assert second["message_id"] == "foreign-1"
    assert "body_base64" in second
    assert second["dead_letter"] == unknown
    done = redrive(client, names, {"all": True}).get_json()
    assert done == {"redriven": 2, "message_ids": [None, "foreign-1"], "not_found": []}
    assert body_bytes(client.get("/Consume")) == b"\xff\x00 binary"


def test_a_redrive_is_logged_as_an_audit_event(
    client: FlaskClient, amqp_url: str, names: Names, caplog: pytest.LogCaptureFixture
) -> None:
    """Logger monty.audit carries the whole event: the action, the admin, the request, the client, the
    queue, how many were asked for and went back; with no user service configured, recorded is None."""
    put_foreign(amqp_url, names.queue, b"{}", pika.BasicProperties(message_id="audited-1"))
    with caplog.at_level("INFO", logger="monty.audit"):
        answer = client.post(
            f"/Queues/{names.queue}/dead-letters/redrive",
            json={"all": True},
            headers={"X-Request-Id": "redrive-1"},
        )
    assert answer.status_code == 200, answer.get_json()
    (event,) = [record for record in caplog.records if record.name == "monty.audit"]
    fields = event.__dict__
    assert event.levelname == "INFO"
    assert (fields["action"], fields["outcome"], fields["target"]) == (
        "dead_letters_redriven",
        "succeeded",
        names.queue,
    )
    assert fields["details"] == {"requested": "all", "redriven": 1, "status": 200}
    assert (fields["actor_id"], fields["actor"]) == ("admin-user", "admin-user")
    assert (fields["request_id"], fields["client"], fields["recorded"]) == ("redrive-1", "127.0.0.1", None)


def test_only_admins_may_touch_dead_letters(
    client: FlaskClient, amqp_url: str, names: Names, test_keys: TestKeys
) -> None:
    """A consumer or producer gets 403, no token 401, and nothing moves."""
    dead_letters_of(client, amqp_url, names, BODIES[:1])
    for roles in (["consumer"], ["producer"], ["consumer", "producer"]):
        headers = test_keys.bearer("someone", roles)
        assert_problem(client.get(f"/Queues/{names.queue}/dead-letters", headers=headers), 403)
        assert_problem(client.get(f"/Queues/{names.queue}/dead-letters/x", headers=headers), 403)
        refused = client.post(
            f"/Queues/{names.queue}/dead-letters/redrive", json={"all": True}, headers=headers
        )
        assert_problem(refused, 403)
    anonymous = {"Authorization": ""}
    assert_problem(client.get(f"/Queues/{names.queue}/dead-letters", headers=anonymous), 401)
    assert_problem(
        client.post(f"/Queues/{names.queue}/dead-letters/redrive", json={"all": 1}, headers=anonymous), 401
    )
    assert queue_depth(amqp_url, dead_letter_queue_of(names.queue)) == 1


def test_an_unknown_queue_is_404(client: FlaskClient) -> None:
    """Every route names its queue: one the gateway does not serve is a 404 problem."""
    assert_problem(client.get("/Queues/other/dead-letters"), 404, "unknown-queue")
    assert_problem(client.get("/Queues/other/dead-letters/some-id"), 404, "unknown-queue")
    assert_problem(
        client.post("/Queues/other/dead-letters/redrive", json={"all": True}), 404, "unknown-queue"
    )


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        (b"", 400, "empty-body"),
        (b"{not json", 400, "invalid-json"),
        (b'{"all": true, "all": true}', 400, "invalid-json"),
        (b"{}", 400, "invalid-parameters"),
        (b"[]", 400, "invalid-parameters"),
        (b'{"all": false}', 400, "invalid-parameters"),
        (b'{"all": "yes"}', 400, "invalid-parameters"),
        (b'{"all": true, "message_ids": ["a"]}', 400, "invalid-parameters"),
        (b'{"message_ids": []}', 400, "invalid-parameters"),
        (b'{"message_ids": [""]}', 400, "invalid-parameters"),
        (b'{"message_ids": [1]}', 400, "invalid-parameters"),
        (b'{"message_ids": "a"}', 400, "invalid-parameters"),
        (b'{"message_ids": ["a"], "extra": 1}', 400, "invalid-parameters"),
        (('{"message_ids": [' + ", ".join(['"a"'] * 1001) + "]}").encode(), 400, "invalid-parameters"),
    ],
)
def test_a_malformed_redrive_is_refused_and_changes_nothing(
    client: FlaskClient, amqp_url: str, names: Names, body: bytes, status: int, slug: str
) -> None:
    """Bodies that are not strict JSON, or not one of the two forms, are problems; nothing moves."""
    ids = dead_letters_of(client, amqp_url, names, BODIES[:1])
    refused = client.post(
        f"/Queues/{names.queue}/dead-letters/redrive", data=body, content_type="application/json"
    )
    assert_problem(refused, status, slug)
    assert [m["message_id"] for m in listing(client, names)["messages"]] == ids
    assert client.get("/Consume").headers["Monty-Queue-Empty"] == "true"


def test_a_redrive_that_is_not_json_is_415(client: FlaskClient, names: Names) -> None:
    """The body must be sent as JSON."""
    refused = client.post(
        f"/Queues/{names.queue}/dead-letters/redrive", data="all", content_type="text/plain"
    )
    assert_problem(refused, 415)


def test_a_closed_app_browses_no_more(make_app: Callable[..., OpenAPI], names: Names) -> None:
    """Once its app is closed, the dead letters are not read any more: 503, at once."""
    app = make_app()
    client = app.test_client()
    assert client.get(f"/Queues/{names.queue}/dead-letters").status_code == 200
    close_app(app)
    closed = assert_problem(client.get(f"/Queues/{names.queue}/dead-letters"), 503, "broker-unavailable")
    assert "closed" in closed["detail"]


def within_bound(call: Callable[[], TestResponse], bound: float = 30.0) -> TestResponse:
    """Run a request in a thread; fail if it hangs instead of answering."""
    result: list[TestResponse] = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(bound)
    assert result, "the request hung"
    return result[0]


@pytest.mark.own_broker
def test_a_broker_that_is_down_is_503_and_loses_nothing(
    node_app: OpenAPI, rabbit_node: RabbitNode, node_names: Names
) -> None:
    """While the broker is down every route answers 503 with Retry-After; once it is back, the dead
    letters are all there."""
    client = node_app.test_client()
    ids = dead_letters_of(client, rabbit_node.amqp_url, node_names, BODIES[:2])
    queue = node_names.queue
    rabbit_node.stop()
    try:
        for call in (
            lambda: client.get(f"/Queues/{queue}/dead-letters"),
            lambda: client.get(f"/Queues/{queue}/dead-letters/{ids[0]}"),
            lambda: client.post(f"/Queues/{queue}/dead-letters/redrive", json={"all": True}),
        ):
            answer = within_bound(call)
            body = assert_problem(answer, 503, "broker-unavailable")
            assert int(answer.headers["Retry-After"]) >= 1
            assert "127.0.0.1" not in body["detail"]
    finally:
        rabbit_node.start()
    assert [m["message_id"] for m in listing(client, node_names)["messages"]] == ids


@pytest.mark.own_broker
@pytest.mark.skipif(
    queue_type_under_test() == "quorum",
    reason="a quorum queue may overshoot max-length with reject-publish (RabbitMQ says so)",
)
def test_a_copy_the_broker_refuses_leaves_its_dead_letter_in_place(
    node_app: OpenAPI, rabbit_node: RabbitNode, node_names: Names, caplog: pytest.LogCaptureFixture
) -> None:
    """With room for one message in the queue, a redrive of three puts back one: 503 naming it, and
    the two whose copies were refused stay dead letters (none is removed before its copy is confirmed);
    the redrive is audited as failed."""
    client = node_app.test_client()
    ids = dead_letters_of(client, rabbit_node.amqp_url, node_names, BODIES[:3])
    policy = f"limit-{node_names.queue}"
    rabbit_node.ctl(
        "set_policy",
        policy,
        f"^{node_names.queue}$",
        '{"max-length": 1, "overflow": "reject-publish"}',
        "--apply-to",
        "queues",
    )
    try:
        with caplog.at_level("INFO", logger="monty.audit"):
            failed = redrive(client, node_names, {"all": True})
        problem = assert_problem(failed, 503, "rejected-by-broker")
        assert int(failed.headers["Retry-After"]) >= 1
        assert (problem["redriven"], problem["message_ids"]) == (1, ids[:1])
        assert [m["message_id"] for m in listing(client, node_names)["messages"]] == ids[1:]
        assert body_bytes(client.get("/Consume")) == BODIES[0]
        (event,) = [record for record in caplog.records if record.name == "monty.audit"]
        assert event.__dict__["outcome"] == "failed"
        assert event.__dict__["details"] == {"requested": "all", "redriven": 1, "status": 503}
    finally:
        rabbit_node.ctl("clear_policy", policy)
    retried = redrive(client, node_names, {"all": True})
    assert retried.get_json()["message_ids"] == ids[1:]
    assert [body_bytes(client.get("/Consume")) for _ in ids[1:]] == BODIES[1:3]


def test_a_redrive_whose_reading_fails_midway_names_what_went_back(
    app: OpenAPI, client: FlaskClient, amqp_url: str, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dead-letter queue's browse fails after the first chunk went back: 503 naming the two
    redriven (they are in the queue, their dead letters gone), not an answer saying none went back."""
    # The package exports the extension under the module's name: take the module itself.
    monkeypatch.setattr(importlib.import_module("exchange_service.dead_letters"), "REDRIVE_CHUNK", 2)
    ids = dead_letters_of(client, amqp_url, names, BODIES)
    browser = dead_letters.get(app).browser
    real_browse = browser.browse

    @contextmanager
    def failing_browse(queue: str) -> Iterator[Browse]:
        with real_browse(queue) as browse:
            read = browse.next
            taken = []

            def next_then_fail() -> BrowsedMessage | None:
                if len(taken) == 2:  # the first chunk is read, and put back before the next read
                    raise BrokerUnavailable("the browse's connection was lost")
                message = read()
                taken.append(message)
                return message

            monkeypatch.setattr(browse, "next", next_then_fail)
            yield browse

    monkeypatch.setattr(browser, "browse", failing_browse)
    failed = redrive(client, names, {"all": True})
    problem = assert_problem(failed, 503, "broker-unavailable")
    assert (problem["redriven"], problem["message_ids"]) == (2, ids[:2])
    assert [body_bytes(client.get("/Consume")) for _ in range(2)] == BODIES[:2]
    assert client.get("/Consume").headers["Monty-Queue-Empty"] == "true"
    assert queue_depth(amqp_url, dead_letter_queue_of(names.queue)) == len(BODIES) - 2
