"""MONTY_QUEUE_TYPE on the gateway: the queues it declares are of that type, and a queue of the
other type is reported at start (exit 2) and at run time (503, /readyz), never retried silently."""

import time
from collections.abc import Callable

import pytest
from flask_openapi3.openapi import OpenAPI

from monty_common.broker import dead_letter_queue_of
from monty_common.broker.delays import DelayQueue
from support.broker_admin import admin_channel
from support.names import Names
from support.processes import run_to_exit
from support.queue_types import queue_types

EXCHANGE_APP = "Microservices/ExchangeMicroservice/app.py"


def test_with_quorum_every_queue_the_gateway_declares_is_a_quorum_queue(
    make_app: Callable[..., OpenAPI], names: Names
) -> None:
    """The work queue, its dead-letter queue and a delay queue are quorum queues (the broker says)."""
    client = make_app(queue_type="quorum").test_client()
    assert client.post("/Message", json={"now": 1}).status_code == 200
    assert client.post("/Message", json={"later": 1}, query_string={"delay": 1}).status_code == 200
    delay_queue = DelayQueue(names.exchange, names.routing_key, 1, "quorum").name
    types = queue_types()
    assert types[names.queue] == "quorum"
    assert types[dead_letter_queue_of(names.queue)] == "quorum"
    assert types[delay_queue] == "quorum"


def test_a_classic_queue_where_quorum_is_configured_stops_the_start(
    live_exchange_env: dict[str, str], amqp_url: str, names: Names
) -> None:
    """The service exits 2 before serving, with one line naming the queue, both types and the way out."""
    with admin_channel(amqp_url) as channel:
        channel.queue_declare(names.queue, durable=True)
    result = run_to_exit(EXCHANGE_APP, live_exchange_env | {"MONTY_QUEUE_TYPE": "quorum"})
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if names.queue in line]
    assert len(lines) == 1, result.stderr
    assert f"queue '{names.queue}' exists as a classic queue but MONTY_QUEUE_TYPE is quorum" in lines[0]
    assert f"rabbitmqctl delete_queue {names.queue}" in lines[0]
    assert "MONTY_QUEUE_TYPE=classic" in lines[0]


def test_a_queue_of_the_other_type_at_run_time_is_503_and_readyz_says_why(
    make_app: Callable[..., OpenAPI], amqp_url: str, names: Names, caplog: pytest.LogCaptureFixture
) -> None:
    """Once the service runs, a queue made meanwhile with the other type is answered 503 saying so,
    and /readyz names it, instead of reconnecting in silence."""
    with admin_channel(amqp_url) as channel:
        channel.queue_declare(names.queue, durable=True)
    client = make_app(queue_type="quorum", broker_timeout=2.0).test_client()
    refused = client.post("/Message", json={"a": 1})
    assert refused.status_code == 503
    assert "exists as a classic queue but MONTY_QUEUE_TYPE is quorum" in refused.get_json()["detail"]
    time.sleep(0.3)  # past the window in which a fresh failure is repeated without a new attempt
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "exists as a classic queue" in ready.get_json()["checks"]["broker_publisher"]
    told = [record for record in caplog.records if "exists as a classic queue" in record.getMessage()]
    assert told
    assert all(record.levelname == "ERROR" for record in told)
