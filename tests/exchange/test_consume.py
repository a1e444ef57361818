"""GET /Consume against the real broker: one message, acknowledged, exactly as published."""

import base64
import json

import pika
import pytest
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from monty_common.lifecycle import close_app
from support.broker_admin import admin_channel, get_raw, queue_depth
from support.names import Names

SENTENCE = "There are no Available Messages to Consume."


def test_empty_queue_answers_the_sentence_and_says_so_in_a_header(client: FlaskClient) -> None:
    """A program tells "empty" by the header, a person by the sentence."""
    response = client.get("/Consume")
    assert response.status_code == 200
    assert response.headers["Monty-Queue-Empty"] == "true"
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == SENTENCE


def test_a_json_string_equal_to_the_sentence_is_still_a_message(client: FlaskClient) -> None:
    """The header, not the body, tells a message from an empty queue."""
    raw = f'"{SENTENCE}"'.encode()
    assert client.post("/Message", data=raw, content_type="application/json").status_code == 200
    response = client.get("/Consume")
    assert response.headers["Monty-Queue-Empty"] == "false"
    assert response.mimetype == "application/json"
    assert response.data == raw


def test_message_comes_back_exactly_with_its_metadata(client: FlaskClient) -> None:
    """Same bytes, JSON content type, and message id, publish time and redelivery in headers."""
    raw = b'{ "a" : 1,\n "z": [true] }'
    published = client.post("/Message", data=raw, content_type="application/json").get_json()
    client.post("/Message", json={"second": True})

    response = client.get("/Consume")
    assert response.status_code == 200
    assert response.data == raw
    assert response.mimetype == "application/json"
    assert response.headers["Monty-Queue-Empty"] == "false"
    assert response.headers["Monty-Message-Id"] == published["message_id"]
    assert response.headers["Monty-Published-At"] == published["published_at"]
    assert response.headers["Monty-Redelivered"] == "false"
    assert response.headers["Monty-Messages-Remaining"] == "1"


def test_messages_come_back_in_publishing_order(client: FlaskClient) -> None:
    """The queue is first in, first out."""
    for i in range(5):
        assert client.post("/Message", json={"i": i}).status_code == 200
    bodies = [client.get("/Consume").get_json() for _ in range(5)]
    assert bodies == [{"i": i} for i in range(5)]
    assert client.get("/Consume").headers["Monty-Queue-Empty"] == "true"


def test_consumed_message_is_acknowledged(app: OpenAPI, amqp_url: str, names: Names) -> None:
    """Once handed out, the message is gone for good: closing the connection does not requeue it."""
    client = app.test_client()
    client.post("/Message", json={"once": True})
    assert client.get("/Consume").get_json() == {"once": True}
    close_app(app)  # an unacknowledged message would return to the queue now
    assert queue_depth(amqp_url, names.queue) == 0
    assert get_raw(amqp_url, names.queue) is None


def test_message_from_another_amqp_client_keeps_its_content_type(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """A message that did not come through the gateway is answered with its own bytes and type."""
    client.get("/Consume")  # declares the topology
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        channel.basic_publish(
            names.exchange,
            names.routing_key,
            b"\x00plain bytes\xff",
            pika.BasicProperties(content_type="application/x-custom"),
        )
        channel.basic_publish(names.exchange, names.routing_key, b"no type")
    first = client.get("/Consume")
    assert first.data == b"\x00plain bytes\xff"
    assert first.mimetype == "application/x-custom"
    assert "Monty-Message-Id" not in first.headers
    second = client.get("/Consume")
    assert second.data == b"no type"
    assert second.mimetype == "application/octet-stream"


def test_message_with_unusable_metadata_is_still_delivered(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """Properties another client set are never copied into headers raw: a malformed media type becomes
    application/octet-stream, an id with control characters and an unusable time are left out."""
    client.get("/Consume")
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        channel.basic_publish(
            names.exchange,
            names.routing_key,
            b'{"odd": "metadata"}',
            pika.BasicProperties(
                content_type="application/json\r\nX-Injected: 1",
                message_id="id\nwith newline",
                timestamp=2**62,
                headers={"published_at": "caf\u00e9 \u20ac"},
            ),
        )
    response = client.get("/Consume")
    assert response.status_code == 200
    assert response.data == b'{"odd": "metadata"}'
    assert response.mimetype == "application/octet-stream"
    assert "X-Injected" not in response.headers
    assert "Monty-Message-Id" not in response.headers  # control characters make no usable id
    assert "Monty-Published-At" not in response.headers
    assert queue_depth(amqp_url, names.queue) == 0


def test_a_non_ascii_producer_reads_the_same_in_headers_and_in_batches(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """Another client's non-ASCII producer is the same text in GET /Consume (percent-encoded UTF-8 in
    its header) and GET /Consume/batch (JSON); bytes that are not UTF-8 are unusable in both."""
    client.get("/Consume")
    headers = {"producer": b"\xff\xfe", "producer_name": "Zo\u00eb \u00c5str\u00f6m"}
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        for _ in range(2):
            channel.basic_publish(
                names.exchange,
                names.routing_key,
                b"{}",
                pika.BasicProperties(content_type="application/json", headers=headers),
            )
    single = client.get("/Consume")
    assert single.headers["Monty-Producer-Name"] == "Zo%C3%AB%20%C3%85str%C3%B6m"
    assert "Monty-Producer" not in single.headers
    batch = client.get("/Consume/batch?max=5").get_json()
    assert [(m["producer_name"], m["producer"]) for m in batch["messages"]] == [
        ("Zo\u00eb \u00c5str\u00f6m", None)
    ]


HOSTILE = [
    pika.BasicProperties(content_type=b"\xff/\xfe"),
    pika.BasicProperties(content_type="text/plain\r\n;x"),
    pika.BasicProperties(content_type="text/plain;\x0bx"),
    pika.BasicProperties(headers={"published_at": "0001-01-01T00:00:00+01:00"}),
    pika.BasicProperties(headers={"published_at": "9999-12-31T23:59:59-01:00"}),
    pika.BasicProperties(message_id="nul\x00in the id", headers={"producer": "nul\x00", "producer_name": 7}),
]


@pytest.mark.parametrize("path", ["/Consume", "/Consume/batch?max=10"])
def test_hostile_metadata_never_fails_an_answer_after_the_ack(
    client: FlaskClient, amqp_url: str, names: Names, path: str
) -> None:
    """Whatever properties another AMQP client sets, every message taken is answered 200 with its
    body: a failure after the ack would lose it."""
    client.get("/Consume")
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        for number, properties in enumerate(HOSTILE):
            channel.basic_publish(names.exchange, names.routing_key, b'{"n": %d}' % number, properties)
    bodies: list[bytes] = []
    while len(bodies) < len(HOSTILE):
        response = client.get(path)
        assert response.status_code == 200, response.data
        if path == "/Consume":
            assert response.headers["Monty-Queue-Empty"] == "false"
            bodies.append(response.data)
        else:
            taken = response.get_json()["messages"]
            assert taken, "the queue ran dry before every message was answered"
            # A body not declared JSON comes in base64.
            bodies.extend(
                base64.b64decode(message["body_base64"])
                if "body_base64" in message
                else json.dumps(message["body"]).encode()
                for message in taken
            )
    assert sorted(json.loads(body)["n"] for body in bodies) == list(range(len(HOSTILE)))
    assert queue_depth(amqp_url, names.queue) == 0


def test_only_the_gateways_own_producer_stamp_is_verified(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """A message published through the gateway has its producer verified; one published past it
    with a producer header (and a made-up signature) is shown as not verified."""
    client.get("/Consume")
    assert client.post("/Message", json={"through": "the gateway"}).status_code == 200
    forged = pika.BasicProperties(
        content_type="application/json",
        message_id="forged",
        headers={"producer": "admin-user", "producer_name": "admin-user", "producer_signature": "0" * 64},
    )
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        channel.basic_publish(names.exchange, names.routing_key, b'{"past": "the gateway"}', forged)
    assert client.post("/Message", json={"through": "the gateway", "again": True}).status_code == 200
    first = client.get("/Consume")
    assert first.headers["Monty-Producer"] == "admin-user"
    assert first.headers["Monty-Producer-Verified"] == "true"
    second = client.get("/Consume")
    assert second.headers["Monty-Producer"] == "admin-user"
    assert second.headers["Monty-Producer-Verified"] == "false"
    batch = client.get("/Consume/batch").get_json()["messages"]
    assert [(message["producer"], message["producer_verified"]) for message in batch] == [
        ("admin-user", True)
    ]


def test_a_consumed_body_can_neither_be_sniffed_nor_run_by_a_browser(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """An HTML message with a script is served as text/html, with nosniff and a CSP that runs nothing."""
    client.get("/Consume")
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        channel.basic_publish(
            names.exchange,
            names.routing_key,
            b"<script>alert(document.cookie)</script>",
            pika.BasicProperties(content_type="text/html"),
        )
    response = client.get("/Consume")
    assert response.mimetype == "text/html"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
