"""POST /Message against the real broker: what is published, how, and only once confirmed."""

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI
from pika.exceptions import ChannelClosedByBroker

from support.archive import ArchiveNames
from support.broker_admin import admin_channel, delete_topology, get_raw, queue_depth, queue_exists
from support.names import Names
from support.polling import wait_until


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1}',
        b'{ "b" : [1, 2.50, "\\u00e9t\\u00e9"],\n  "a": {"nested": null} }',
        '["caf\u00e9", true, false, null, -0.0, 1e400]'.encode(),
        b"42",
        b'"just a string"',
        b"null",
    ],
    ids=["object", "whitespace-and-order", "array", "number", "string", "null"],
)
def test_any_json_value_is_published_byte_for_byte(
    client: FlaskClient, amqp_url: str, names: Names, raw: bytes
) -> None:
    """The queue receives exactly the bytes that were posted, whatever JSON value they hold."""
    response = client.post("/Message", data=raw, content_type="application/json")
    assert response.status_code == 200, response.get_json()
    taken = get_raw(amqp_url, names.queue)
    assert taken is not None
    _method, _properties, body = taken
    assert body == raw


def test_message_is_persistent_json_with_id_and_timestamp(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """delivery_mode 2, application/json, a UUID message_id (the one answered) and a timestamp."""
    response = client.post("/Message", json={"a": 1})
    answer = response.get_json()
    assert response.status_code == 200
    assert str(uuid.UUID(answer["message_id"])) == answer["message_id"]
    assert answer["exchange"] == names.exchange
    assert answer["routing_key"] == names.routing_key

    taken = get_raw(amqp_url, names.queue)
    assert taken is not None
    method, properties, _body = taken
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"
    assert properties.message_id == answer["message_id"]
    assert isinstance(properties.timestamp, int)
    assert properties.timestamp > 0
    assert method.exchange == names.exchange
    assert method.routing_key == names.routing_key


def test_topology_is_durable_direct_and_bound(client: FlaskClient, amqp_url: str, names: Names) -> None:
    """The exchange is durable and direct, the queue durable, and bound by the routing key."""
    assert client.post("/Message", json={"declare": True}).status_code == 200
    with admin_channel(amqp_url) as channel, pytest.raises(ChannelClosedByBroker) as refused:
        channel.queue_declare(queue=names.queue, durable=False)
    assert refused.value.reply_code == 406  # exists with durable=True
    with admin_channel(amqp_url) as channel, pytest.raises(ChannelClosedByBroker) as refused:
        channel.exchange_declare(exchange=names.exchange, exchange_type="fanout", durable=True)
    assert refused.value.reply_code == 406  # exists as another type
    with admin_channel(amqp_url) as channel, pytest.raises(ChannelClosedByBroker) as refused:
        channel.exchange_declare(exchange=names.exchange, exchange_type="direct", durable=False)
    assert refused.value.reply_code == 406  # exists with durable=True
    # The binding routes a message published straight to the exchange into the queue.
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        channel.basic_publish(names.exchange, names.routing_key, b"{}", mandatory=True)
    assert queue_depth(amqp_url, names.queue) == 2


def test_unroutable_message_is_never_answered_2xx(client: FlaskClient, amqp_url: str, names: Names) -> None:
    """With the queue gone, the broker returns the message: the client gets 503, then it heals."""
    assert client.post("/Message", json={"first": 1}).status_code == 200
    with admin_channel(amqp_url) as channel:
        channel.queue_delete(queue=names.queue)

    # Declarations happen once per connection, so nothing re-creates the queue for this request.
    response = client.post("/Message", json={"lost": 1})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:monty:problem:unroutable"
    assert int(response.headers["Retry-After"]) >= 1

    # The publisher re-declares its topology after a return, so the next message is routed.
    response = client.post("/Message", json={"second": 2})
    assert response.status_code == 200
    taken = get_raw(amqp_url, names.queue)
    assert taken is not None
    assert taken[2] == b'{"second": 2}'


def test_many_concurrent_publishes_are_each_confirmed_once(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """Requests from many threads share one connection; every answered id is in the queue exactly once."""

    def post(i: int) -> str:
        response = client.post("/Message", json={"i": i})
        assert response.status_code == 200
        return str(response.get_json()["message_id"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        answered = list(pool.map(post, range(300)))
    assert len(set(answered)) == 300

    seen: list[str] = []
    with admin_channel(amqp_url) as channel:
        for method, properties, _body in channel.consume(names.queue, auto_ack=True, inactivity_timeout=1):
            if method is None:
                break
            seen.append(properties.message_id)
    assert sorted(seen) == sorted(answered)


def test_answers_under_a_tight_deadline_never_misstate_the_outcome(
    make_app: Callable[..., OpenAPI], amqp_url: str, names: Names
) -> None:
    """With a deadline too short to wait for confirms: every 200 is stored, a 503 (not sent) never
    is, and a 504 says the outcome is unknown and names its message_id."""
    app = make_app(broker_timeout=0.002)
    publisher = app.extensions["monty.broker"].publisher
    publisher.link.wait_ready(time.monotonic() + 10)
    client = app.test_client()

    def post(i: int) -> tuple[int, dict[str, Any]]:
        response = client.post("/Message", json={"i": i})
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(200)))
    statuses = {status for status, _ in answers}
    assert statuses <= {200, 503, 504}
    confirmed = {body["message_id"] for status, body in answers if status == 200}
    unknown = {body["message_id"] for status, body in answers if status == 504}
    assert all(
        body["type"] == "urn:monty:problem:outcome-unknown" for status, body in answers if status == 504
    )
    assert all(
        body["type"] == "urn:monty:problem:broker-unavailable" for status, body in answers if status == 503
    )

    # Messages answered 504 may still be on their way: wait for their confirms.
    wait_until(lambda: publisher.unconfirmed == 0, 10, "the late confirms")
    stored: set[str] = set()
    with admin_channel(amqp_url) as channel:
        for method, properties, _body in channel.consume(names.queue, auto_ack=True, inactivity_timeout=1):
            if method is None:
                break
            stored.add(properties.message_id)
    assert confirmed <= stored
    assert stored <= confirmed | unknown


def test_a_deleted_queue_comes_back_while_the_archive_queue_is_bound(
    make_app: Callable[..., OpenAPI], amqp_url: str, names: Names
) -> None:
    """With the archive's queue bound to the same exchange and key, no publish is ever returned when
    monty-queue is deleted: the exchange still notices (it checks) and declares it again."""
    archive = ArchiveNames.around(names)
    with admin_channel(amqp_url) as channel:
        archive.declare(channel)
    try:
        client = make_app(topology_check_seconds=0.2).test_client()
        assert client.post("/Message", json={"before": 1}).status_code == 200
        with admin_channel(amqp_url) as channel:
            channel.queue_delete(names.queue)
        wait_until(lambda: queue_exists(amqp_url, names.queue), 10, "the queue to be declared again")
        assert client.post("/Message", json={"after": 1}).status_code == 200
        assert client.get("/Consume").get_json() == {"after": 1}
    finally:
        delete_topology(amqp_url, archive.dead_letter_exchange, [archive.queue, archive.dead_letter_queue])
