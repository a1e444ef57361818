"""Publishing and taking messages: the exchange's work, below the HTTP layer."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pika
from pika.delivery_mode import DeliveryMode

from monty_common.broker import ConfirmedPublisher, Delivery, MessageGetter

APP_ID = "montyexchange"


@dataclass(frozen=True)
class PublishedMessage:
    """What the broker confirmed."""

    message_id: str
    published_at: datetime


def publish_confirmed(publisher: ConfirmedPublisher, body: bytes) -> PublishedMessage:
    """Publish `body` as a persistent JSON message; return once the broker has confirmed it."""
    published_at = datetime.now(UTC)
    message_id = str(uuid.uuid4())
    properties = pika.BasicProperties(
        content_type="application/json",
        delivery_mode=DeliveryMode.Persistent,
        message_id=message_id,
        timestamp=int(published_at.timestamp()),
        app_id=APP_ID,
        headers={"published_at": published_at.isoformat(timespec="milliseconds")},
    )
    publisher.publish(body, properties)
    return PublishedMessage(message_id, published_at)


def take_message(getter: MessageGetter) -> Delivery | None:
    """Take and acknowledge one message; None when the queue is empty."""
    return getter.get()


def published_at(delivery: Delivery) -> str | None:
    """When the message was published, as ISO 8601, from its header or its AMQP timestamp."""
    stamp = delivery.headers.get("published_at")
    if isinstance(stamp, bytes):
        stamp = stamp.decode("utf-8", "replace")
    if isinstance(stamp, str):
        return stamp
    if delivery.timestamp is not None:
        return datetime.fromtimestamp(delivery.timestamp, UTC).isoformat()
    return None
