"""Publishing and taking messages: the exchange's work, below the HTTP layer."""

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pika
from pika.delivery_mode import DeliveryMode

from monty_common.auth import Principal
from monty_common.broker import ConfirmedPublisher, Delivery, MessageGetter

APP_ID = "montyexchange"


@dataclass(frozen=True)
class PublishedMessage:
    """What the broker confirmed."""

    message_id: str
    published_at: datetime


def _properties(producer: Principal, published_at: datetime) -> pika.BasicProperties:
    """A persistent JSON message's properties, with a new message_id and its producer."""
    return pika.BasicProperties(
        content_type="application/json",
        delivery_mode=DeliveryMode.Persistent,
        message_id=str(uuid.uuid4()),
        timestamp=int(published_at.timestamp()),
        app_id=APP_ID,
        headers={
            "published_at": published_at.isoformat(timespec="milliseconds"),
            # Who sent it, for consumers and the archive (user_id would have to match the AMQP login).
            "producer": producer.subject,
            "producer_name": producer.username,
        },
    )


def publish_confirmed(publisher: ConfirmedPublisher, body: bytes, producer: Principal) -> PublishedMessage:
    """Publish `body` as a persistent JSON message stamped with its producer; return once confirmed."""
    published_at = datetime.now(UTC)
    properties = _properties(producer, published_at)
    publisher.publish(body, properties)
    return PublishedMessage(str(properties.message_id), published_at)


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one message of a batch: None if the broker confirmed it, else why not."""

    message: PublishedMessage
    error: BaseException | None


def publish_batch(
    publisher: ConfirmedPublisher, bodies: list[bytes], producer: Principal
) -> list[BatchOutcome]:
    """Publish every body as its own message, all in flight together; one outcome per body, in order."""
    published_at = datetime.now(UTC)
    messages = [(body, _properties(producer, published_at)) for body in bodies]
    errors = publisher.publish_many(messages)
    return [
        BatchOutcome(PublishedMessage(str(properties.message_id), published_at), error)
        for (_body, properties), error in zip(messages, errors, strict=True)
    ]


def take_messages(getter: MessageGetter, limit: int, wait: float) -> list[Delivery]:
    """Take and acknowledge up to `limit` messages, waiting up to `wait` seconds for the first."""
    return getter.take(limit, wait)


# Header values other AMQP clients put on a message are shown only if they are plain visible ASCII:
# the message is already acknowledged, so rendering its answer must not fail.
_SAFE_VALUE = re.compile(r"[\x20-\x7e]{1,1024}")
_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"{_TCHARS}/{_TCHARS}(\s*;[\x20-\x7e]*)?")
FALLBACK_CONTENT_TYPE = "application/octet-stream"


def _safe(value: object) -> str | None:
    """`value` as a header value, or None when it cannot be one."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str) and _SAFE_VALUE.fullmatch(value):
        return value
    return None


def content_type(delivery: Delivery) -> str:
    """The message's own media type, or application/octet-stream when it has none usable."""
    value = delivery.content_type
    if value and len(value) <= 255 and _MEDIA_TYPE.fullmatch(value):
        return value
    return FALLBACK_CONTENT_TYPE


def published_at(delivery: Delivery) -> str | None:
    """When the message was published, as ISO 8601, from its header or its AMQP timestamp."""
    stamp = _safe(delivery.headers.get("published_at"))
    if stamp is not None:
        return stamp
    if delivery.timestamp is not None:
        try:
            return datetime.fromtimestamp(delivery.timestamp, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    return None


def message_headers(delivery: Delivery) -> dict[str, str]:
    """The message's metadata as response headers; values that are not plain ASCII are left out."""
    headers = {"Monty-Redelivered": "true" if delivery.redelivered else "false"}
    if delivery.remaining is not None:
        headers["Monty-Messages-Remaining"] = str(delivery.remaining)
    message_id = _safe(delivery.message_id)
    if message_id is not None:
        headers["Monty-Message-Id"] = message_id
    stamp = published_at(delivery)
    if stamp is not None:
        headers["Monty-Published-At"] = stamp
    for name, header in (("producer", "Monty-Producer"), ("producer_name", "Monty-Producer-Name")):
        value = _safe(delivery.headers.get(name))
        if value is not None:
            headers[header] = value
    return headers
