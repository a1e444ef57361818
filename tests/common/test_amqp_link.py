"""The shared broker links, used directly (no HTTP), against the real broker."""

import time
from collections.abc import Iterator

import pika
import pytest

from monty_common.broker import ConfirmedPublisher, MessageGetter, Topology
from monty_common.settings import BrokerSettings
from support.names import Names


@pytest.fixture
def settings(amqp_url: str) -> BrokerSettings:
    """Broker settings for the machine's broker."""
    return BrokerSettings(amqp_url=amqp_url, broker_timeout=5.0)


@pytest.fixture
def publisher(settings: BrokerSettings, names: Names) -> Iterator[ConfirmedPublisher]:
    """A publisher on unique names, closed after the test."""
    link = ConfirmedPublisher(settings, Topology(names.exchange, names.queue, names.routing_key), "test")
    yield link
    link.close()


def _properties(message_id: str) -> pika.BasicProperties:
    """Minimal properties for a test message."""
    return pika.BasicProperties(message_id=message_id, delivery_mode=2)


def test_link_survives_an_error_escaping_its_io_loop(publisher: ConfirmedPublisher) -> None:
    """An exception out of the I/O loop does not leave the process with a dead link."""
    publisher.publish(b"1", _properties("one"))
    conn = publisher._conn

    def explode() -> None:
        raise RuntimeError("bug in a callback")

    conn.ioloop.add_callback_threadsafe(explode)
    deadline = time.monotonic() + 10
    while publisher._conn is conn and time.monotonic() < deadline:
        time.sleep(0.05)
    publisher.publish(b"2", _properties("two"))
    assert publisher.is_ready


def test_getter_takes_in_order_and_reports_empty(
    settings: BrokerSettings, publisher: ConfirmedPublisher, names: Names
) -> None:
    """basic.get one at a time, acked, first in first out; None when the queue is empty."""
    getter = MessageGetter(settings, Topology(names.exchange, names.queue, names.routing_key), "test")
    try:
        for i in range(3):
            publisher.publish(str(i).encode(), _properties(f"m{i}"))
        taken = [getter.get() for _ in range(3)]
        assert [d.body for d in taken if d] == [b"0", b"1", b"2"]
        assert [d.remaining for d in taken if d] == [2, 1, 0]
        assert getter.get() is None
    finally:
        getter.close()


def test_close_stops_the_io_thread(publisher: ConfirmedPublisher) -> None:
    """close() ends the connection and its thread."""
    publisher.publish(b"x", _properties("x"))
    thread = publisher._thread
    assert thread is not None
    publisher.close()
    assert not thread.is_alive()
    assert not publisher.is_ready
