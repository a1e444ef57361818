"""Publishing while the queue's binding comes and goes: every outcome told is what the queue holds."""

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pika
import pytest

from monty_common.broker import ConfirmedPublisher, PublishRejected, Topology
from monty_common.envelope import stamp
from monty_common.settings import BrokerSettings
from support.broker_admin import admin_channel
from support.names import Names


@pytest.fixture
def publisher(amqp_url: str, names: Names) -> Iterator[ConfirmedPublisher]:
    """A publisher on unique names, closed after the test."""
    link = ConfirmedPublisher(
        BrokerSettings(amqp_url=amqp_url), Topology(names.exchange, names.queue, names.routing_key), "test"
    )
    yield link
    link.close()


def _unbind_repeatedly(amqp_url: str, names: Names, stop: threading.Event) -> None:
    """Remove the queue's binding every few milliseconds until `stop` (the publisher binds it again)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        while not stop.is_set():
            connection.sleep(random.uniform(0.002, 0.02))
            channel.queue_unbind(names.queue, names.exchange, names.routing_key)
    finally:
        connection.close()


def test_unroutable_and_stored_messages_are_told_apart_while_bindings_change(
    publisher: ConfirmedPublisher, amqp_url: str, names: Names
) -> None:
    """Batches in flight while the binding is removed over and over: no message answered confirmed
    is missing, none answered unroutable is stored."""
    publisher.publish(b"{}", stamp("p", "p", datetime.now(UTC)))
    stop = threading.Event()
    unbinder = threading.Thread(target=_unbind_repeatedly, args=(amqp_url, names, stop))
    unbinder.start()
    outcomes: dict[str, BaseException | None] = {}
    try:
        for _round in range(25):
            messages = [(b'{"n": 1}', stamp("p", "p", datetime.now(UTC))) for _ in range(150)]
            for (_body, properties), outcome in zip(messages, publisher.publish_many(messages), strict=True):
                outcomes[properties.message_id] = outcome
    finally:
        stop.set()
        unbinder.join()
    stored: set[str] = set()
    with admin_channel(amqp_url) as channel:
        while (taken := channel.basic_get(names.queue, auto_ack=True))[0] is not None:
            stored.add(taken[1].message_id)
    confirmed = {message_id for message_id, outcome in outcomes.items() if outcome is None}
    unroutable = {
        message_id
        for message_id, outcome in outcomes.items()
        if isinstance(outcome, PublishRejected) and outcome.reason == "unroutable"
    }
    assert unroutable, "the binding never went away: the test proved nothing"
    assert confirmed - stored == set(), "answered confirmed, but not in the queue"
    assert unroutable & stored == set(), "answered unroutable, but in the queue"
