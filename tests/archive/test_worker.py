"""The archive worker against the real broker and databases: every message stored once, byte for byte."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pika
import psycopg
import pytest
from flask_openapi3.openapi import OpenAPI

from support.apps import exchange_app_builder
from support.archive import (
    ArchiveNames,
    DirectPublisher,
    WorkerStarter,
    archived_bodies,
    archived_rows,
    rename_table,
    worker_settings,
)
from support.broker_admin import get_raw, queue_depth
from support.names import Names
from support.polling import wait_until
from support.ports import free_port
from support.processes import ServiceProcess, python_command
from support.tally import tally
from support.tokens import TestKeys
from support.users import SERVICE_SECRET

BODIES = [
    b'{"a": 1}',
    b'  {"spaced" :  [1, 2,\n 3] }  ',
    b'"just a string"',
    b"12345678901234567890123456789.000000000000000000001",
    '{"unicode": "h\u00e9llo \u2603 \U0001f600", "escaped": "\\u00e9"}'.encode(),
    b'{"nested": {"deep": [{"x": null}, true, false]}}',
    b"[]",
]


def test_messages_published_through_the_exchange_are_archived_byte_identical(
    start_worker: WorkerStarter,
    database_url: str,
    amqp_url: str,
    names: Names,
    test_keys: TestKeys,
    tmp_path: Path,
) -> None:
    """N messages posted to the exchange app become exactly N rows, each body byte-identical."""
    worker = start_worker(database_url)
    builder = exchange_app_builder(amqp_url, names, test_keys.jwks_url, tmp_path / "exchange")
    try:
        client = builder().test_client()
        sent: dict[str, tuple[bytes, str]] = {}
        for body in BODIES * 6:
            answer = client.post(
                "/Message",
                data=body,
                headers={**test_keys.bearer("user-42", ["producer"]), "Content-Type": "application/json"},
            )
            assert answer.status_code == 200, answer.get_json()
            published = answer.get_json()
            sent[published["message_id"]] = (body, published["published_at"])
    finally:
        builder.close_all()
    wait_until(lambda: len(archived_rows(database_url)) >= len(sent), 20, "every message to be archived")
    rows = {row["message_id"]: row for row in archived_rows(database_url)}
    assert set(rows) == set(sent)
    for message_id, (body, published_at) in sent.items():
        row = rows[message_id]
        assert row["body"].encode("utf-8") == body
        assert row["size_bytes"] == len(body)
        assert row["producer"] == "user-42"
        assert row["routing_key"] == names.routing_key
        assert _as_utc(row["published_at"]) == datetime.fromisoformat(published_at)
    assert worker.stop() == 0
    assert "archive worker stopped" in worker.output()


def _as_utc(value: datetime | str) -> datetime:
    """A timestamp column as read without the model (SQLite gives text without a zone)."""
    stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def test_a_redelivered_message_is_stored_once(
    start_worker: WorkerStarter, publisher: DirectPublisher, database_url: str
) -> None:
    """The same message_id delivered twice (as after a crash between commit and ack) makes one row."""
    start_worker(database_url)
    publisher.publish(b'{"copy": 1}', message_id="twice-delivered")
    publisher.publish(b'{"copy": 1}', message_id="twice-delivered")
    publisher.publish(b'{"after": true}', message_id="behind-it")
    wait_until(lambda: "behind-it" in archived_bodies(database_url), 20, "the message behind the copy")
    assert archived_bodies(database_url) == {"twice-delivered": '{"copy": 1}', "behind-it": '{"after": true}'}


def test_a_worker_killed_mid_stream_loses_and_doubles_nothing(
    start_worker: WorkerStarter,
    publisher: DirectPublisher,
    database_url: str,
    amqp_url: str,
    archive_names: ArchiveNames,
) -> None:
    """SIGKILL while messages stream in and are being stored; after a restart every message is there once."""
    worker = start_worker(database_url, **STREAM_SETTINGS)
    with _streaming(amqp_url, archive_names) as (sent, stream):
        wait_until(lambda: len(archived_rows(database_url)) >= 200, 20, "the worker to archive some")
        worker.kill()
        streaming_at_kill = stream.is_alive()
        stored_at_kill = len(archived_rows(database_url))
    assert streaming_at_kill, "the stream ended before the worker was killed"
    assert stored_at_kill < len(sent)
    _restart_and_find_each_once("archive worker SIGKILL", start_worker, database_url, sent)
    wait_until(lambda: queue_depth(amqp_url, archive_names.queue) == 0, 10, "the queue to drain")


# The most a worker takes from SIGTERM to exit, generous for a busy machine: it notices within 0.1 s,
# commits the batch it holds once, gives back the rest and closes its connection.
WORKER_EXIT_BOUND = 10.0


@pytest.mark.slow
def test_a_worker_stopped_mid_stream_exits_in_time_and_loses_and_doubles_nothing(
    start_worker: WorkerStarter,
    database_url: str,
    amqp_url: str,
    archive_names: ArchiveNames,
) -> None:
    """SIGTERM while messages stream in: the worker exits cleanly within its bound, committing what it
    received; after a restart every message is stored, once."""
    worker = start_worker(database_url, **STREAM_SETTINGS)
    with _streaming(amqp_url, archive_names) as (sent, stream):
        wait_until(lambda: len(archived_rows(database_url)) >= 200, 20, "the worker to archive some")
        worker.terminate()
        terminated_at = time.monotonic()
        wait_until(lambda: not worker.running, WORKER_EXIT_BOUND, "the worker to exit after SIGTERM")
        took = time.monotonic() - terminated_at
        streaming_at_stop = stream.is_alive()
    assert streaming_at_stop, "the stream ended before the worker was stopped"
    assert worker.exit_code == 0, worker.output()[-3000:]
    assert "archive worker stopped" in worker.output()
    label = f"archive worker SIGTERM (exited in {took:.1f} s)"
    _restart_and_find_each_once(label, start_worker, database_url, sent)


# Large, slow batches: at a kill or stop the worker holds received messages not yet committed, which
# must come back from the queue (a worker acking before its commit loses them).
STREAM_SETTINGS = {"MONTY_ARCHIVE_PREFETCH": "200", "MONTY_ARCHIVE_FLUSH_SECONDS": "0.5"}


@contextmanager
def _streaming(
    amqp_url: str, archive_names: ArchiveNames
) -> Iterator[tuple[dict[str, bytes], threading.Thread]]:
    """Messages streamed to the archive queue until the block ends (see _stream_until): those sent, by
    message id, and the streaming thread."""
    ended = threading.Event()
    sent: dict[str, bytes] = {}
    stream = threading.Thread(target=_stream_until, args=(ended, amqp_url, archive_names, sent))
    stream.start()
    try:
        yield sent, stream
    finally:
        ended.set()
        stream.join()


def _restart_and_find_each_once(
    label: str, start_worker: WorkerStarter, database_url: str, sent: dict[str, bytes]
) -> None:
    """Start a worker again; every message sent is then stored once, with its body."""
    start_worker(database_url, **STREAM_SETTINGS)
    wait_until(lambda: len(archived_rows(database_url)) >= len(sent), 30, "every message after the restart")
    rows = [row["message_id"] for row in archived_rows(database_url)]
    counts = tally(label, len(sent), list(sent), rows)
    assert counts.lost == counts.duplicated == 0
    assert len(rows) == len(sent)
    bodies = archived_bodies(database_url)
    assert {key: value.encode() for key, value in bodies.items()} == sent


def _stream_until(
    killed: threading.Event, amqp_url: str, archive_names: ArchiveNames, sent: dict[str, bytes]
) -> None:
    """Publish bursts of 20 into `sent` until `killed` is set, then 10 bursts more; 150 bursts at most.

    The pause between bursts keeps the stream steady: a flood would be queued whole before the worker
    took its first batch. The bursts after the kill reach the queue while no worker runs.
    """
    direct = DirectPublisher(amqp_url, archive_names.exchange, archive_names.routing_key)
    try:
        for burst in range(150):
            sent.update(direct.publish_many(20, tag=f"burst-{burst}"))
            if killed.wait(0.04):
                for after in range(10):
                    sent.update(direct.publish_many(20, tag=f"after-the-kill-{after}"))
                return
    finally:
        direct.close()


def _drop_worker_connections(database_url: str, application_name: str) -> None:
    """On PostgreSQL, also cut the worker's connections, so it must open new ones."""
    if not database_url.startswith("postgresql"):
        return
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        )


def test_a_database_outage_holds_messages_until_it_returns(
    start_worker: WorkerStarter,
    publisher: DirectPublisher,
    database_url: str,
    amqp_url: str,
    archive_names: ArchiveNames,
    tmp_path: Path,
) -> None:
    """While commits fail nothing is acked or lost; once they succeed again every message is stored once."""
    application_name = f"archive-{archive_names.queue}"
    worker_url = database_url
    if database_url.startswith("postgresql"):
        worker_url = f"{database_url}&application_name={application_name}"
    worker = start_worker(worker_url, MONTY_ARCHIVE_PREFETCH="20")
    sent = publisher.publish_many(50, tag="before")
    wait_until(lambda: len(archived_rows(database_url)) == 50, 20, "the first messages")

    rename_table(database_url, "archived_messages", "archived_messages_away")
    _drop_worker_connections(database_url, application_name)
    during = publisher.publish_many(150, tag="during")
    sent.update(during)
    wait_until(lambda: "database unavailable" in worker.output(), 20, "the worker to meet the outage")
    # Held unacked or waiting in the queue: nothing was acked without being stored.
    wait_until(lambda: queue_depth(amqp_url, archive_names.queue) >= 150 - 20, 10, "messages to wait")
    rename_table(database_url, "archived_messages_away", "archived_messages")

    wait_until(lambda: len(archived_rows(database_url)) >= 200, 30, "every message after the outage")
    assert {key: value.encode() for key, value in archived_bodies(database_url).items()} == sent
    assert "database available again" in worker.output()
    assert worker.stop() == 0


def test_poison_messages_are_dead_lettered_and_the_rest_archived(
    start_worker: WorkerStarter,
    publisher: DirectPublisher,
    amqp_url: str,
    archive_names: ArchiveNames,
    tmp_path: Path,
) -> None:
    """A body that is not JSON and a message without message_id land in the dead queue, each saying
    why in its dead_letter_reason header; the rest is stored."""
    database_url = f"sqlite:///{tmp_path / 'archive.db'}"
    start_worker(database_url)
    publisher.publish(b'{"first": 1}', message_id="first")
    publisher.publish(b"this is not JSON", message_id="not-json")
    publisher.publish_raw(b'{"no": "id"}', pika.BasicProperties(content_type="application/json"))
    publisher.publish(b"\xff\xfe{}", message_id="not-utf8")
    later = publisher.publish_many(20, tag="behind the poison")
    wait_until(lambda: len(archived_rows(database_url)) >= 21, 20, "the messages behind the poison")
    assert set(archived_bodies(database_url)) == {"first", *later}
    wait_until(lambda: queue_depth(amqp_url, archive_names.dead_letter_queue) == 3, 10, "3 dead letters")
    assert queue_depth(amqp_url, archive_names.queue) == 0
    dead = _take_all(amqp_url, archive_names.dead_letter_queue)
    assert sorted(dead) == sorted(
        [
            (b"this is not JSON", "the body is not UTF-8 JSON"),
            (b'{"no": "id"}', "the message has no usable message_id (1 to 255 characters of text)"),
            (b"\xff\xfe{}", "the body is not UTF-8 JSON (UnicodeDecodeError)"),
        ]
    )


def _take_all(amqp_url: str, queue: str) -> list[tuple[bytes, str | None]]:
    """Every message in `queue` (taken): its body, and the reason it was dead-lettered."""
    taken: list[tuple[bytes, str | None]] = []
    while (message := get_raw(amqp_url, queue)) is not None:
        _method, properties, body = message
        taken.append((body, (properties.headers or {}).get("dead_letter_reason")))
    return taken


def test_producers_are_stored_as_the_exchange_shows_them(
    start_worker: WorkerStarter, publisher: DirectPublisher, tmp_path: Path
) -> None:
    """Another client's non-ASCII producer is stored as its text; bytes that are not UTF-8 are no
    producer at all (the exchange reads both the same way)."""
    database_url = f"sqlite:///{tmp_path / 'archive.db'}"
    start_worker(database_url)
    for message_id, producer in (("accented", "Zo\u00eb"), ("undecodable", b"\xff\xfe")):
        publisher.publish_raw(
            b"{}",
            pika.BasicProperties(
                content_type="application/json", message_id=message_id, headers={"producer": producer}
            ),
        )
    wait_until(lambda: len(archived_rows(database_url)) == 2, 20, "both messages archived")
    producers = {row["message_id"]: row["producer"] for row in archived_rows(database_url)}
    assert producers == {"accented": "Zo\u00eb", "undecodable": None}


def test_hostile_metadata_is_stored_or_dead_lettered_never_stalls_the_worker(
    start_worker: WorkerStarter,
    publisher: DirectPublisher,
    postgres_url: str,
    amqp_url: str,
    archive_names: ArchiveNames,
) -> None:
    """Properties no producer of ours would set neither crash the worker nor hold up what follows
    (on PostgreSQL, which refuses NUL in text): usable ones are stored, the rest dead-lettered."""
    worker = start_worker(postgres_url)
    hostile = {
        "bad-media-type": pika.BasicProperties(message_id="bad-media-type", content_type=b"\xff/\xfe"),
        "far-past": pika.BasicProperties(
            message_id="far-past", headers={"published_at": "0001-01-01T00:00:00+01:00"}
        ),
        "nul-producer": pika.BasicProperties(message_id="nul-producer", headers={"producer": "a\x00b"}),
    }
    for properties in hostile.values():
        publisher.publish_raw(b"{}", properties)
    publisher.publish_raw(b"{}", pika.BasicProperties(message_id="nul\x00id"))
    later = publisher.publish_many(5, tag="behind the hostile ones")
    wait_until(lambda: len(archived_rows(postgres_url)) >= 8, 20, "every storable message")
    rows = {row["message_id"]: row for row in archived_rows(postgres_url)}
    assert set(rows) == {*hostile, *later}
    assert rows["nul-producer"]["producer"] is None
    wait_until(lambda: queue_depth(amqp_url, archive_names.dead_letter_queue) == 1, 10, "the id with a NUL")
    assert worker.running


def test_the_archive_records_whether_the_gateway_vouched_for_the_producer(
    start_worker: WorkerStarter,
    publisher: DirectPublisher,
    amqp_url: str,
    names: Names,
    test_keys: TestKeys,
    tmp_path: Path,
) -> None:
    """A message published through the exchange (same service secret) is stored with its producer
    verified; one published past it, naming the same producer, is stored as not verified."""
    database_url = f"sqlite:///{tmp_path / 'archive.db'}"
    start_worker(database_url)
    builder = exchange_app_builder(amqp_url, names, test_keys.jwks_url, tmp_path / "exchange")
    try:
        client = builder().test_client()
        published = client.post(
            "/Message", json={"through": "the exchange"}, headers=test_keys.bearer("user-42", ["producer"])
        ).get_json()
    finally:
        builder.close_all()
    forged = publisher.publish(b'{"past": "the exchange"}', producer="user-42")
    wait_until(lambda: len(archived_rows(database_url)) == 2, 20, "both messages archived")
    verified = {row["message_id"]: bool(row["producer_verified"]) for row in archived_rows(database_url)}
    assert verified == {published["message_id"]: True, forged: False}


def test_headers_published_through_the_exchange_are_archived_and_served(
    start_worker: WorkerStarter,
    make_app: Callable[..., OpenAPI],
    database_url: str,
    amqp_url: str,
    names: Names,
    test_keys: TestKeys,
    tmp_path: Path,
) -> None:
    """A client's headers travel exchange -> archive queue -> database -> archive API unchanged, with
    the producer (and so the headers) verified; a message without any has {}."""
    start_worker(database_url)
    builder = exchange_app_builder(amqp_url, names, test_keys.jwks_url, tmp_path / "exchange")
    try:
        client = builder().test_client()
        auth = test_keys.bearer("user-42", ["producer"])
        sent = {"Monty-Header-Tenant": "acme", "Monty-Header-trace-id": "t 1 %"}
        with_headers = client.post("/Message", json={"n": 1}, headers={**auth, **sent}).get_json()
        without = client.post("/Message", json={"n": 2}, headers=auth).get_json()
    finally:
        builder.close_all()
    wait_until(lambda: len(archived_rows(database_url)) == 2, 20, "both messages archived")
    api = make_app().test_client()
    reader = test_keys.bearer("reader", ["consumer"])
    first = api.get(f"/Messages/{with_headers['message_id']}", headers=reader).get_json()
    assert (first["headers"], first["producer_verified"]) == ({"tenant": "acme", "trace-id": "t 1 %"}, True)
    second = api.get(f"/Messages/{without['message_id']}", headers=reader).get_json()
    assert second["headers"] == {}


def test_a_broker_host_that_does_not_resolve_yet_is_waited_for(
    archive_names: ArchiveNames, tmp_path: Path
) -> None:
    """A broker name that does not resolve (a container not up yet) is retried, not fatal."""
    worker = ServiceProcess(
        "archive worker",
        python_command("Microservices/ArchiveMicroservice/worker.py"),
        worker_settings(
            "amqp://guest:guest@broker-not-up-yet.invalid:5672/",
            archive_names,
            tmp_path / "data",
            f"sqlite:///{tmp_path / 'archive.db'}",
            SERVICE_SECRET,
        )
        | {"MONTY_WORKER_METRICS_PORT": str(free_port())},
        tmp_path / "worker.log",
    )
    try:
        wait_until(lambda: worker.output().count("broker unreachable") >= 2, 20, "two attempts")
        assert worker.running
    finally:
        assert worker.stop() == 0
