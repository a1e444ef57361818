"""Delayed publishing against the real broker: nothing reaches its queue before its time, all after."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monty_common.broker import ConfirmedPublisher, PublishRejected, Route, Topology
from monty_common.broker.delays import DelayQueue
from monty_common.envelope import stamp
from monty_common.settings import BrokerSettings
from support.broker_admin import admin_channel, get_raw, queue_depth, queue_exists
from support.names import Names
from support.polling import wait_until


@pytest.fixture
def publisher(amqp_url: str, names: Names) -> Iterator[ConfirmedPublisher]:
    """A publisher on unique names, closed after the test."""
    link = ConfirmedPublisher(
        BrokerSettings(amqp_url=amqp_url), Topology(names.exchange, names.queue, names.routing_key), "test"
    )
    yield link
    link.close()


def _arrives_after(amqp_url: str, queue: str, count: int, started: float, delay: float) -> None:
    """`queue` holds nothing now, and `count` messages once `delay` seconds have passed since `started`."""
    assert queue_depth(amqp_url, queue) == 0, "a delayed message arrived at once"
    wait_until(lambda: queue_depth(amqp_url, queue) >= count, delay + 10, "the delayed messages")
    assert time.monotonic() - started >= delay - 0.01, "a delayed message arrived early"
    assert queue_depth(amqp_url, queue) == count


def test_a_message_to_a_queue_is_released_after_its_delay(
    publisher: ConfirmedPublisher, amqp_url: str, names: Names
) -> None:
    """publish(route=Route.to_queue(q), delay=1): q gets the message, as published, after a second."""
    properties = stamp("p", "p", datetime.now(UTC), user_headers={"attempt": "2"})
    started = time.monotonic()
    publisher.publish(b'{"later": 1}', properties, route=Route.to_queue(names.queue), delay=1)
    _arrives_after(amqp_url, names.queue, 1, started, 1)
    taken = get_raw(amqp_url, names.queue)
    assert taken is not None
    _method, delivered, body = taken
    assert body == b'{"later": 1}'
    assert delivered.message_id == properties.message_id
    assert delivered.delivery_mode == 2
    assert delivered.headers["user_headers"] == {"attempt": "2"}
    # RabbitMQ moved it on by itself, and says so.
    assert delivered.headers["x-death"][0]["queue"] == DelayQueue("", names.queue, 1).name


def test_a_delayed_batch_reaches_the_topologys_route_in_order(
    publisher: ConfirmedPublisher, amqp_url: str, names: Names
) -> None:
    """publish_many with a delay and no route: through the exchange, every message, in order."""
    messages = [(f'{{"n": {number}}}'.encode(), stamp("p", "p", datetime.now(UTC))) for number in range(20)]
    started = time.monotonic()
    assert publisher.publish_many(messages, delay=2) == [None] * 20
    _arrives_after(amqp_url, names.queue, 20, started, 2)
    bodies = []
    while (taken := get_raw(amqp_url, names.queue)) is not None:
        bodies.append(taken[2])
    assert bodies == [body for body, _properties in messages]


def test_a_delay_queue_deleted_behind_the_publishers_back_is_created_again(
    publisher: ConfirmedPublisher, amqp_url: str, names: Names
) -> None:
    """The message that finds it gone comes back unroutable (not stored: safe to send again); the
    publisher declares the queue again before the next one, which is delivered."""
    delay_queue = DelayQueue(names.exchange, names.routing_key, 1).name
    publisher.publish(b'{"n": 1}', stamp("p", "p", datetime.now(UTC)), delay=1)
    with admin_channel(amqp_url) as channel:
        channel.queue_delete(delay_queue)
    with pytest.raises(PublishRejected) as rejected:
        publisher.publish(b'{"n": 2}', stamp("p", "p", datetime.now(UTC)), delay=1)
    assert rejected.value.reason == "unroutable"
    publisher.publish(b'{"n": 3}', stamp("p", "p", datetime.now(UTC)), delay=1)
    assert queue_exists(amqp_url, delay_queue)
    wait_until(lambda: queue_depth(amqp_url, names.queue) == 1, 10, "the message sent after the return")
    taken = get_raw(amqp_url, names.queue)
    assert taken is not None
    assert taken[2] == b'{"n": 3}'


def test_messages_without_a_delay_are_not_held_by_a_delayed_one(
    publisher: ConfirmedPublisher, amqp_url: str, names: Names
) -> None:
    """A delayed message waits in its own queue: one published after it without delay arrives first."""
    publisher.publish(b'{"late": true}', stamp("p", "p", datetime.now(UTC)), delay=2)
    publisher.publish(b'{"now": true}', stamp("p", "p", datetime.now(UTC)))
    first = get_raw(amqp_url, names.queue)
    assert first is not None
    assert first[2] == b'{"now": true}'
    wait_until(lambda: queue_depth(amqp_url, names.queue) == 1, 10, "the delayed message")
