"""Broker faults: a bounded 503 with Retry-After, never a hang or a lost message, and recovery.

Tests that stop, block or inspect a broker use a RabbitMQ node of their own; the machine's broker
is left alone.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI
from werkzeug.test import TestResponse

from support.broker_admin import admin_channel
from support.names import Names
from support.polling import wait_until
from support.ports import free_port
from support.rabbit_node import RabbitNode

# Far above every timeout the tests configure: reaching it means the request hung.
HANG = 30.0


def answer_within_bound(call: Callable[[], TestResponse]) -> TestResponse:
    """Run a request in a thread; fail if it hangs instead of answering."""
    result: list[TestResponse] = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(HANG)
    assert result, "the request hung"
    return result[0]


def assert_unavailable(response: TestResponse) -> dict[str, Any]:
    """503 problem+json with Retry-After."""
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    body: dict[str, Any] = response.get_json()
    return body


def our_connections(node: RabbitNode) -> list[str]:
    """The node's client connections opened by the exchange service (peer port and heartbeat)."""
    rows = node.ctl(
        "list_connections", "peer_port", "timeout", "client_properties", "--no-table-headers", "-q"
    )
    return [
        row.split("\t")[0] + " " + row.split("\t")[1] for row in rows.splitlines() if "monty exchange" in row
    ]


def test_unreachable_broker_is_503_with_retry_after(
    make_app: Callable[..., OpenAPI], caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens on the broker's port: every broker route answers 503 problem+json, promptly.

    The answers say why without naming the broker's address or user; the log names them.
    """
    port = free_port()
    client = make_app(
        amqp_url=f"amqp://monty-user:secret@localhost:{port}/", broker_timeout=2.0
    ).test_client()
    post = assert_unavailable(answer_within_bound(lambda: client.post("/Message", json={"a": 1})))
    assert post["type"] == "urn:monty:problem:broker-unavailable"
    assert "cannot reach the broker" in post["detail"]
    consume = assert_unavailable(answer_within_bound(lambda: client.get("/Consume")))
    ready = assert_unavailable(answer_within_bound(lambda: client.get("/readyz")))
    assert ready["checks"]["broker_publisher"] != "ok"
    for answer in (post["detail"], consume["detail"], *ready["checks"].values()):
        for hidden in ("localhost", str(port), "monty-user", "secret", "amqp://"):
            assert hidden not in answer
    assert client.get("/healthz").status_code == 200
    wait_until(
        lambda: any(f"monty-user:***@localhost:{port}" in str(vars(r)) for r in caplog.records),
        10,
        "the broker's address in the log",
    )


def test_no_connection_until_first_use_then_two_long_lived_ones(
    node_app: OpenAPI, rabbit_node: RabbitNode
) -> None:
    """Building the app opens nothing (so servers can fork); then one publisher and one getter
    connection serve every request."""
    assert our_connections(rabbit_node) == []
    client = node_app.test_client()
    for i in range(20):
        assert client.post("/Message", json={"i": i}).status_code == 200
        assert client.get("/Consume").status_code == 200
    first = our_connections(rabbit_node)
    assert len(first) == 2
    for i in range(20):
        assert client.post("/Message", json={"i": i}).status_code == 200
    assert our_connections(rabbit_node) == first


def test_idle_connections_keep_their_heartbeats(
    make_app: Callable[..., OpenAPI], rabbit_node: RabbitNode, node_names: Names
) -> None:
    """With a 5 s heartbeat, the very same connections still serve after 16 idle seconds."""
    app = make_app(
        amqp_url=rabbit_node.amqp_url,
        exchange=node_names.exchange,
        queue=node_names.queue,
        routing_key=node_names.routing_key,
        amqp_heartbeat=5,
    )
    client = app.test_client()
    assert client.post("/Message", json={"before": True}).status_code == 200
    assert client.get("/Consume").status_code == 200
    before = our_connections(rabbit_node)
    assert [row.split()[1] for row in before] == ["5", "5"]  # negotiated heartbeat
    # The broker closes a connection after two missed heartbeats (about 10 s here).
    time.sleep(16)
    assert our_connections(rabbit_node) == before
    assert client.post("/Message", json={"after": True}).status_code == 200


def test_closed_connection_is_reopened_on_the_next_request(
    node_app: OpenAPI, rabbit_node: RabbitNode
) -> None:
    """The broker drops every connection; the next requests succeed without restarting anything."""
    client = node_app.test_client()
    assert client.post("/Message", json={"n": 1}).status_code == 200
    before = our_connections(rabbit_node)
    rabbit_node.ctl("close_all_connections", "test: dropped on purpose")
    assert client.post("/Message", json={"n": 2}).status_code == 200
    assert client.get("/Consume").get_json() == {"n": 1}
    assert client.get("/Consume").get_json() == {"n": 2}
    after = our_connections(rabbit_node)
    assert len(after) == 2
    assert set(after).isdisjoint(before)


def test_broker_down_then_back_without_restart_and_nothing_lost(
    node_app: OpenAPI, rabbit_node: RabbitNode
) -> None:
    """Confirmed messages survive a broker restart; while it is down requests get 503; then they succeed."""
    client = node_app.test_client()
    confirmed = client.post("/Message", json={"survives": "restart"})
    assert confirmed.status_code == 200
    rabbit_node.stop()
    try:
        assert_unavailable(answer_within_bound(lambda: client.post("/Message", json={"while": "down"})))
        assert_unavailable(answer_within_bound(lambda: client.get("/Consume")))
        assert_unavailable(answer_within_bound(lambda: client.get("/readyz")))
    finally:
        rabbit_node.start()
    # Clients poll readiness; it turns 200 once the links have reconnected by themselves.
    for _ in range(100):
        if answer_within_bound(lambda: client.get("/readyz")).status_code == 200:
            break
        time.sleep(0.2)
    assert client.get("/readyz").status_code == 200
    taken = client.get("/Consume")
    assert taken.get_json() == {"survives": "restart"}
    assert taken.headers["Monty-Message-Id"] == confirmed.get_json()["message_id"]
    assert client.post("/Message", json={"after": "restart"}).status_code == 200
    assert client.get("/Consume").get_json() == {"after": "restart"}


def test_nacked_message_is_503_not_2xx(node_app: OpenAPI, rabbit_node: RabbitNode, node_names: Names) -> None:
    """A queue at its length limit with reject-publish makes the broker nack: the client is told."""
    with rabbit_node.queue_policy(node_names.queue, '{"max-length": 1, "overflow": "reject-publish"}'):
        client = node_app.test_client()
        assert client.post("/Message", json={"fits": True}).status_code == 200
        refused = assert_unavailable(client.post("/Message", json={"does not": "fit"}))
        assert refused["type"] == "urn:monty:problem:rejected-by-broker"
        assert client.get("/Consume").get_json() == {"fits": True}
        assert client.get("/Consume").headers["Monty-Queue-Empty"] == "true"


def test_a_publish_that_fits_after_a_nack_is_stored(
    node_app: OpenAPI, rabbit_node: RabbitNode, node_names: Names
) -> None:
    """A nack for a message too big for its queue does not refuse the next publish, which fits.

    The broker nacks only the message it could not take; the publisher moves to a new channel after
    a nack, and a publish that arrives meanwhile goes out on that channel, not 503.
    """
    limit = '{"max-length-bytes": 100, "overflow": "reject-publish"}'
    with rabbit_node.queue_policy(node_names.queue, limit):
        client = node_app.test_client()
        for attempt in range(3):
            refused = assert_unavailable(client.post("/Message", json={"big": "x" * 300}))
            assert refused["type"] == "urn:monty:problem:rejected-by-broker"
            fits = answer_within_bound(
                lambda attempt=attempt: client.post("/Message", json={"fits": attempt})
            )
            assert fits.status_code == 200, fits.get_json()
            assert client.get("/Consume").get_json() == {"fits": attempt}


def test_a_full_queue_nacks_on_the_same_connection(
    node_app: OpenAPI, rabbit_node: RabbitNode, node_names: Names
) -> None:
    """A classic queue at its limit nacks publish after publish; the gateway's connections stay as
    they were (only a quorum queue's nack moves the publisher to a new channel)."""
    with rabbit_node.queue_policy(node_names.queue, '{"max-length": 1, "overflow": "reject-publish"}'):
        client = node_app.test_client()
        assert client.post("/Message", json={"fits": True}).status_code == 200
        assert client.get("/readyz").status_code == 200
        before = sorted(our_connections(rabbit_node))
        for attempt in range(3):
            refused = assert_unavailable(client.post("/Message", json={"full": attempt}))
            assert refused["type"] == "urn:monty:problem:rejected-by-broker"
        assert client.get("/readyz").status_code == 200
        assert sorted(our_connections(rabbit_node)) == before


def test_resource_alarm_blocks_publishers_but_not_consumers(
    node_app: OpenAPI, rabbit_node: RabbitNode
) -> None:
    """During a memory alarm POST answers within the bound while GET keeps draining the queue.

    The broker tells a connection it is blocked only once it publishes: that first message may be
    stored after the alarm, so it is answered 504 with its message_id. The next ones are not sent
    at all and are answered 503. When the alarm clears, publishing works again by itself.
    """
    client: FlaskClient = node_app.test_client()
    assert client.post("/Message", json={"queued": "before the alarm"}).status_code == 200
    rabbit_node.ctl("set_vm_memory_high_watermark", "0.0000001")
    try:
        first = answer_within_bound(lambda: client.post("/Message", json={"during": 1}))
        assert first.status_code in (503, 504)
        if first.status_code == 504:
            assert first.get_json()["type"] == "urn:monty:problem:outcome-unknown"
            assert first.get_json()["message_id"]
        second = assert_unavailable(answer_within_bound(lambda: client.post("/Message", json={"during": 2})))
        assert second["type"] == "urn:monty:problem:broker-unavailable"
        assert "blocking publishers" in second["detail"]
        assert client.get("/Consume").get_json() == {"queued": "before the alarm"}
    finally:
        rabbit_node.ctl("set_vm_memory_high_watermark", "0.4")
    for _ in range(50):
        response = answer_within_bound(lambda: client.post("/Message", json={"after": "alarm"}))
        if response.status_code == 200:
            break
        time.sleep(0.2)
    assert response.status_code == 200
    bodies = []
    while (taken := client.get("/Consume")).headers["Monty-Queue-Empty"] == "false":
        bodies.append(taken.get_json())
    assert {"during": 2} not in bodies  # answered 503: never sent
    assert {"after": "alarm"} in bodies


def test_conflicting_queue_is_reported_not_hidden(
    make_app: Callable[..., OpenAPI], amqp_url: str, names: Names
) -> None:
    """A queue that exists with other arguments cannot be declared: 503 and /readyz give the reason."""
    with admin_channel(amqp_url) as channel:
        channel.queue_declare(names.queue, durable=True, arguments={"x-max-length": 5})
    client = make_app(broker_timeout=2.0).test_client()
    refused = assert_unavailable(answer_within_bound(lambda: client.post("/Message", json={"a": 1})))
    assert "PRECONDITION_FAILED" in refused["detail"]
    time.sleep(0.3)  # past the window in which a fresh failure is repeated without a new attempt
    ready = assert_unavailable(answer_within_bound(lambda: client.get("/readyz")))
    assert "PRECONDITION_FAILED" in ready["checks"]["broker_publisher"]


def test_a_batch_the_broker_partly_refuses_is_207_naming_each(
    node_app: OpenAPI, rabbit_node: RabbitNode, node_names: Names
) -> None:
    """With room for two messages, a batch of four gets two 200s and two 503s, never a plain 200."""
    with rabbit_node.queue_policy(node_names.queue, '{"max-length": 2, "overflow": "reject-publish"}'):
        client = node_app.test_client()
        client.get("/Consume")
        response = client.post("/Messages", json=[1, 2, 3, 4])
        assert response.status_code == 207
        assert int(response.headers["Retry-After"]) >= 1
        answer = response.get_json()
        assert [result["status"] for result in answer["results"]] == [200, 200, 503, 503]
        assert answer["results"][2]["type"] == "urn:monty:problem:rejected-by-broker"
        assert (answer["published"], answer["failed"]) == (2, 2)
        assert client.get("/Consume").get_json() == 1
        assert client.get("/Consume").get_json() == 2
        assert client.get("/Consume").headers["Monty-Queue-Empty"] == "true"


def test_a_batch_nothing_of_which_is_stored_is_503(node_app: OpenAPI, rabbit_node: RabbitNode) -> None:
    """With the broker down, the whole batch is refused with one 503: retrying it all is safe."""
    client = node_app.test_client()
    assert client.post("/Messages", json=[1]).status_code == 200
    rabbit_node.stop()
    try:
        body = assert_unavailable(client.post("/Messages", json=[1, 2, 3]))
        assert body["type"] == "urn:monty:problem:broker-unavailable"
    finally:
        rabbit_node.start()
