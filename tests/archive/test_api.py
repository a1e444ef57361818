"""The archive's HTTP API: keyset pages, filters, one message, tokens, and readiness with the lag."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from archive_service.extensions import database
from archive_service.records import ArchiveRecord
from archive_service.store import store_records
from archive_service.topology import ArchiveTopology
from support.archive import ArchiveNames, DirectPublisher
from support.broker_admin import admin_channel, queue_depth
from support.metrics import parse, value
from support.polling import wait_until
from support.problems import assert_problem
from support.processes import start_service
from support.tokens import TestKeys

START = datetime(2026, 1, 1, tzinfo=UTC)
COUNT = 25
# Two messages published in the same millisecond: pages must still split them exactly once.
TIED = (10, 11)


def _published_at(number: int) -> datetime:
    """When seeded message `number` was published."""
    return START + timedelta(minutes=TIED[0] if number in TIED else number)


def _seed(app: OpenAPI) -> list[str]:
    """Store COUNT messages (producers p1 and p2 taking turns); their message_ids in insert order."""
    records = [
        ArchiveRecord(
            message_id=f"msg-{number:02d}",
            body=f'{{"n": {number},  "big": 1.000000000000000000001}}',
            producer="p1" if number % 2 == 0 else "p2",
            producer_verified=number % 3 == 0,
            routing_key="message",
            published_at=_published_at(number),
            archived_at=START + timedelta(hours=1),
            size_bytes=40,
        )
        for number in range(COUNT)
    ]
    with app.app_context(), database.session() as session:
        store_records(session, records)
    return [record.message_id for record in records]


@pytest.fixture
def seeded(make_app: Callable[..., OpenAPI]) -> tuple[OpenAPI, list[str]]:
    """An archive app whose database holds the seeded messages."""
    app = make_app()
    return app, _seed(app)


def _walk(client: FlaskClient, token: str, **params: Any) -> tuple[list[str], int]:
    """Follow next_cursor through every page; the message_ids seen and the number of pages."""
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        answer = client.get("/Messages", query_string=query, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.get_json()
        page = answer.get_json()
        pages += 1
        seen += [item["message_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages


def _expected(ids: list[str], newest: bool, keep: Callable[[int], bool] = lambda _n: True) -> list[str]:
    """The seeded ids in listing order: published_at, then insertion, newest or oldest first."""
    numbers = sorted(
        (n for n in range(COUNT) if keep(n)), key=lambda n: (_published_at(n), n), reverse=newest
    )
    return [ids[n] for n in numbers]


def test_pages_follow_cursors_newest_and_oldest(
    seeded: tuple[OpenAPI, list[str]], test_keys: TestKeys
) -> None:
    """Pages of 7 cover every message exactly once in either order, ties included; default is newest."""
    app, ids = seeded
    token = test_keys.token("reader", ["consumer"])
    client = app.test_client()
    newest, pages = _walk(client, token, limit=7)
    assert (newest, pages) == (_expected(ids, newest=True), 4)
    assert _walk(client, token, limit=7, order="newest")[0] == newest
    oldest, _pages = _walk(client, token, limit=7, order="oldest")
    assert oldest == _expected(ids, newest=False)
    # A page boundary falling between the tied messages splits them without loss.
    assert _walk(client, token, limit=1, order="oldest")[0] == oldest
    first = client.get("/Messages?limit=1000", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert first["next_cursor"] is None
    assert len(first["items"]) == COUNT


def test_filters_since_until_and_producer(seeded: tuple[OpenAPI, list[str]], test_keys: TestKeys) -> None:
    """since is inclusive, until exclusive, producer exact; filters hold across pages."""
    app, ids = seeded
    token = test_keys.token("reader", ["consumer"])
    client = app.test_client()
    since, until = _published_at(5), _published_at(15)
    window, _pages = _walk(client, token, limit=3, since=since.isoformat(), until=until.isoformat())
    assert window == _expected(ids, True, lambda n: since <= _published_at(n) < until)
    mine, pages = _walk(client, token, limit=4, order="oldest", producer="p2")
    assert mine == _expected(ids, False, lambda n: n % 2 == 1)
    assert pages == 3
    both, _pages = _walk(client, token, limit=2, producer="p1", since="2026-01-01T00:20:00")
    assert both == _expected(ids, True, lambda n: n % 2 == 0 and n >= 20)
    assert _walk(client, token, producer="nobody")[0] == []


def test_one_message_with_its_body_embedded_verbatim(
    seeded: tuple[OpenAPI, list[str]], test_keys: TestKeys
) -> None:
    """GET /Messages/<id> shows every field, the body as JSON spliced in exactly as stored."""
    app, _ids = seeded
    answer = app.test_client().get("/Messages/msg-03", headers=test_keys.bearer("reader", ["consumer"]))
    assert answer.status_code == 200
    assert b'"body": {"n": 3,  "big": 1.000000000000000000001}' in answer.data
    assert answer.get_json() == {
        "message_id": "msg-03",
        "body": json.loads('{"n": 3,  "big": 1.000000000000000000001}'),
        "producer": "p2",
        "producer_verified": True,
        "routing_key": "message",
        "published_at": "2026-01-01T00:03:00.000+00:00",
        "archived_at": "2026-01-01T01:00:00.000+00:00",
        "size_bytes": 40,
        "headers": {},
        "request_id": None,
        "traceparent": None,
    }


def test_a_messages_headers_are_served_with_it(make_app: Callable[..., OpenAPI], test_keys: TestKeys) -> None:
    """The client headers stored with a message come back from both routes."""
    app = make_app()
    headers = {"tenant": "acme", "trace-id": "t 1", "empty": ""}
    record = ArchiveRecord(
        message_id="with-headers",
        body="{}",
        producer="p1",
        producer_verified=True,
        routing_key="message",
        published_at=START,
        archived_at=START,
        size_bytes=2,
        headers=headers,
    )
    with app.app_context(), database.session() as session:
        store_records(session, [record])
    client = app.test_client()
    auth = test_keys.bearer("reader", ["consumer"])
    assert client.get("/Messages/with-headers", headers=auth).get_json()["headers"] == headers
    assert client.get("/Messages", headers=auth).get_json()["items"][0]["headers"] == headers


def test_unknown_message_is_a_404_problem(seeded: tuple[OpenAPI, list[str]], test_keys: TestKeys) -> None:
    """An id never archived is answered 404 problem+json."""
    app, _ids = seeded
    answer = app.test_client().get("/Messages/never-seen", headers=test_keys.bearer("reader", ["consumer"]))
    assert_problem(answer, 404, "message-not-found")


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("limit=1001", "limit"),
        ("limit=0", "limit"),
        ("order=sideways", "order"),
        ("since=yesterday", "since"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=1.2.3", "cursor"),
        ("cursor=12345678901234567.1", "cursor"),
        ("until=0.5", "until"),
        ("since=1700000000", "since"),
        ("since=2026-11-28", "since"),
        ("since=0001-01-01T00:00:00%2B01:00", "since"),
        ("until=9999-12-31T23:59:59-01:00", "until"),
    ],
)
def test_bad_parameters_are_400_naming_them(
    make_app: Callable[..., OpenAPI], test_keys: TestKeys, query: str, name: str
) -> None:
    """An out-of-range limit, unknown order, unreadable time or foreign cursor is a 400 naming it."""
    answer = make_app().test_client().get(f"/Messages?{query}", headers=test_keys.bearer("r", ["consumer"]))
    problem = assert_problem(answer, 400)
    assert [item["name"] for item in problem["invalid_params"]] == [name]
    assert name in problem["detail"]


def test_any_well_formed_cursor_is_a_position(make_app: Callable[..., OpenAPI], test_keys: TestKeys) -> None:
    """A cursor the service never made but of the documented form resumes there: 200, not 400."""
    client = make_app().test_client()
    headers = test_keys.bearer("reader", ["consumer"])
    for cursor in ("0.0", "9999999999999999.999999999999999999"):
        answer = client.get("/Messages", query_string={"cursor": cursor}, headers=headers)
        assert answer.status_code == 200, answer.get_json()


def test_a_cursor_resumes_after_its_position_in_either_order(
    seeded: tuple[OpenAPI, list[str]], test_keys: TestKeys
) -> None:
    """A cursor is a position: newest-first continues to older rows, oldest-first to newer ones."""
    app, ids = seeded
    client = app.test_client()
    headers = test_keys.bearer("reader", ["consumer"])
    newest = _expected(ids, newest=True)
    cursor = client.get("/Messages?limit=3", headers=headers).get_json()["next_cursor"]
    older = client.get("/Messages", query_string={"cursor": cursor, "limit": 1000}, headers=headers)
    newer = client.get(
        "/Messages", query_string={"order": "oldest", "cursor": cursor, "limit": 1000}, headers=headers
    )
    assert [item["message_id"] for item in older.get_json()["items"]] == newest[3:]
    assert [item["message_id"] for item in newer.get_json()["items"]] == list(reversed(newest[:2]))


@pytest.mark.parametrize("path", ["/Messages", "/Messages/msg-01", "/Messages?limit=1001"])
def test_tokens_and_roles_guard_every_route(
    seeded: tuple[OpenAPI, list[str]], test_keys: TestKeys, path: str
) -> None:
    """No token is 401 (even with bad parameters), a producer's token 403; consumer and admin may read."""
    app, _ids = seeded
    client = app.test_client()
    missing = client.get(path)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(path, headers=test_keys.bearer("writer", ["producer"])).status_code == 403
    if "1001" not in path:
        assert client.get(path, headers=test_keys.bearer("reader", ["consumer"])).status_code == 200
        assert client.get(path, headers=test_keys.bearer("boss", ["admin"])).status_code == 200


def test_readyz_shows_the_archive_lag(
    amqp_url: str,
    archive_names: ArchiveNames,
    publisher: DirectPublisher,
    test_keys: TestKeys,
    tmp_path: Path,
) -> None:
    """The served API (two workers, new database) is ready once the queue exists; its depth is the lag."""
    env = {
        "MONTY_AMQP_URL": amqp_url,
        "MONTY_DATA_DIR": str(tmp_path / "data"),
        "MONTY_JWKS_URL": test_keys.jwks_url,
        "MONTY_USERS_URL": "",
        "MONTY_WORKERS": "2",
        **archive_names.env(),
    }
    server = start_service("Microservices/ArchiveMicroservice/app.py", env, tmp_path / "archive.log")
    try:
        server.wait_healthy()
        before = requests.get(server.url + "/readyz", timeout=10)
        assert before.status_code == 503
        assert before.json()["checks"]["database"] == "ok"
        assert before.json()["checks"]["broker"] == "ok"
        assert before.json()["checks"]["archive_queue"].startswith("unavailable")
        assert before.json()["archive_lag"] is None
        _declare_archive_queue(amqp_url, archive_names)
        for number in range(7):
            publisher.publish(json.dumps({"n": number}).encode())
        ready = requests.get(server.url + "/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "status": "ready",
            "checks": {"database": "ok", "broker": "ok", "archive_queue": "ok"},
            "archive_lag": 7,
        }
        listing = requests.get(
            server.url + "/Messages", headers=test_keys.bearer("r", ["consumer"]), timeout=5
        )
        assert listing.json() == {"items": [], "count": 0, "next_cursor": None, "byte_limited": False}
    finally:
        server.stop()
    assert "Traceback" not in server.output()


def test_metrics_read_the_queue_once_per_interval(
    make_app: Callable[..., OpenAPI], amqp_url: str, archive_names: ArchiveNames, publisher: DirectPublisher
) -> None:
    """/metrics needs no token: scrapes in a burst reuse one reading (one broker connection, one
    count of the table) for FIGURES_TTL instead of each making their own."""
    _declare_archive_queue(amqp_url, archive_names)
    client = make_app().test_client()
    for number in range(2):
        publisher.publish(json.dumps({"n": number}).encode())
    first = parse(client.get("/metrics").get_data(as_text=True))
    assert value(first, "monty_archive_queue_depth") == 2
    for number in range(3):
        publisher.publish(json.dumps({"n": number}).encode())
    wait_until(lambda: queue_depth(amqp_url, archive_names.queue) == 5, 10, "the queue to hold five")
    again = parse(client.get("/metrics").get_data(as_text=True))
    assert value(again, "monty_archive_queue_depth") == 2


def _declare_archive_queue(amqp_url: str, archive_names: ArchiveNames) -> None:
    """Declare the archive's topology as the worker would."""
    topology = ArchiveTopology(
        archive_names.exchange,
        archive_names.routing_key,
        archive_names.queue,
        archive_names.dead_letter_exchange,
        archive_names.dead_letter_queue,
    )
    with admin_channel(amqp_url) as channel:
        topology.declare(channel)
