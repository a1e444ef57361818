"""Direct AMQP access for tests: inspect and prepare queues without going through the gateway."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ChannelClosedByBroker

from monty_common.broker.delays import DelayQueue


@contextmanager
def admin_channel(amqp_url: str) -> Iterator[BlockingChannel]:
    """A short-lived blocking channel on its own connection."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        yield connection.channel()
    finally:
        if connection.is_open:
            connection.close()


def publish_json(amqp_url: str, exchange: str, routing_key: str, bodies: Iterable[bytes]) -> None:
    """Publish each body as a JSON message past the gateway, with confirms ("" is the default exchange)."""
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        for body in bodies:
            channel.basic_publish(
                exchange, routing_key, body, pika.BasicProperties(content_type="application/json")
            )


def queue_depth(amqp_url: str, queue: str) -> int:
    """Messages ready in `queue`."""
    with admin_channel(amqp_url) as channel:
        frame: Any = channel.queue_declare(queue=queue, passive=True)
        count: int = frame.method.message_count
        return count


def queue_exists(amqp_url: str, queue: str) -> bool:
    """Whether `queue` is declared on the broker."""
    with admin_channel(amqp_url) as channel:
        try:
            channel.queue_declare(queue, passive=True)
        except ChannelClosedByBroker:
            return False
        return True


def get_raw(amqp_url: str, queue: str) -> tuple[Any, Any, bytes] | None:
    """Take one message straight from `queue` (acked), with its method and properties."""
    with admin_channel(amqp_url) as channel:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return None
        return method, properties, body


def delete_topology(amqp_url: str, exchange: str, queues: list[str]) -> None:
    """Remove a test's exchange and queues."""
    with admin_channel(amqp_url) as channel:
        for queue in queues:
            channel.queue_delete(queue=queue)
        channel.exchange_delete(exchange=exchange)


def delete_delay_queues(amqp_url: str, targets: list[tuple[str, str]], up_to: int) -> None:
    """Remove the delay queues, of either type, of each (exchange, routing key) for delays of 1 to
    `up_to` seconds (deleting a queue that does not exist is no error)."""
    with admin_channel(amqp_url) as channel:
        for exchange, routing_key in targets:
            for seconds in range(1, up_to + 1):
                for queue_type in ("classic", "quorum"):
                    channel.queue_delete(queue=DelayQueue(exchange, routing_key, seconds, queue_type).name)


def message_ids(amqp_url: str, queue: str) -> list[str | None]:
    """Take every message `queue` holds (acked); their message_ids, oldest first."""
    ids: list[str | None] = []
    while (taken := get_raw(amqp_url, queue)) is not None:
        ids.append(taken[1].message_id)
    return ids
