"""Putting messages in a queue's dead-letter queue as the gateway does once their deliveries run out."""

import uuid
from typing import Any

import pika

from monty_common.broker import dead_letter_queue_of
from monty_common.dead_letters import dead_letter_properties
from support.broker_admin import admin_channel
from support.queue_types import tested_queue_arguments

REASON = "max-deliveries"
LAST_ERROR = "handler failed: timeout"
DELIVERIES = 5


def dead_letter_all(amqp_url: str, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
    """Move every message of `queue`, oldest first, to its dead-letter queue with the gateway's
    dead-letter headers (confirmed before each original is acked); their original properties and bodies."""
    moved: list[tuple[pika.BasicProperties, bytes]] = []
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        channel.queue_declare(dead_letter_queue_of(queue), durable=True, arguments=tested_queue_arguments())
        while True:
            method: Any
            method, properties, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                return moved
            copy = dead_letter_properties(
                properties, REASON, source_queue=queue, last_error=LAST_ERROR, deliveries=DELIVERIES
            )
            channel.basic_publish("", dead_letter_queue_of(queue), body, copy, mandatory=True)
            channel.basic_ack(method.delivery_tag)
            moved.append((properties, body))


def put_foreign(amqp_url: str, queue: str, body: bytes, properties: pika.BasicProperties) -> None:
    """Publish straight into `queue`'s dead-letter queue, as any other AMQP client could."""
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        channel.queue_declare(dead_letter_queue_of(queue), durable=True, arguments=tested_queue_arguments())
        channel.basic_publish("", dead_letter_queue_of(queue), body, properties, mandatory=True)


def fill_dead_letters(amqp_url: str, queue: str, count: int) -> None:
    """Put `count` small JSON dead letters, each with its own message_id, in `queue`'s dead-letter queue."""
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        channel.queue_declare(dead_letter_queue_of(queue), durable=True, arguments=tested_queue_arguments())
        for number in range(count):
            original = pika.BasicProperties(content_type="application/json", message_id=str(uuid.uuid4()))
            copy = dead_letter_properties(
                original, REASON, source_queue=queue, last_error=LAST_ERROR, deliveries=DELIVERIES
            )
            channel.basic_publish("", dead_letter_queue_of(queue), b'{"dead": %d}' % number, copy)
