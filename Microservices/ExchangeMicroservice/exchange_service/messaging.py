"""Publishing and taking messages: the exchange's work, below the HTTP layer."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pika

from exchange_service.extensions import producer_stamp
from exchange_service.publish_options import HEADER_PREFIX, PublishOptions
from monty_common.auth import Principal
from monty_common.broker import ConfirmedPublisher, Delivery, MessageGetter
from monty_common.envelope import Envelope, stamp
from monty_common.metrics import count_published


@dataclass(frozen=True)
class PublishedMessage:
    """What the broker confirmed."""

    message_id: str
    published_at: datetime
    # With a delay: when the message reaches the queue.
    deliver_at: datetime | None = None


def _stamped(
    producer: Principal,
    published_at: datetime,
    body: bytes,
    options: PublishOptions,
    message_id: str | None = None,
) -> pika.BasicProperties:
    """The envelope of a message `producer` publishes through the gateway (under `message_id`, or a
    new one), its producer and headers signed."""
    properties = stamp(
        producer.subject, producer.username, published_at, message_id, options.headers, options.trace
    )
    producer_stamp.get().sign(properties, body)
    return properties


def _deliver_at(published_at: datetime, options: PublishOptions) -> datetime | None:
    """When a delayed message reaches the queue (None when it is not delayed)."""
    return published_at + timedelta(seconds=options.delay) if options.delay else None


def publish_confirmed(
    publisher: ConfirmedPublisher,
    body: bytes,
    producer: Principal,
    options: PublishOptions | None = None,
    message_id: str | None = None,
) -> PublishedMessage:
    """Publish `body` as a persistent JSON message stamped with its producer (and the client's headers,
    after its delay), under `message_id` or a new one; return once confirmed."""
    options = options or PublishOptions()
    published_at = datetime.now(UTC)
    properties = _stamped(producer, published_at, body, options, message_id)
    try:
        publisher.publish(body, properties, delay=options.delay)
    except BaseException as error:
        count_published(error)
        raise
    count_published(None)
    return PublishedMessage(str(properties.message_id), published_at, _deliver_at(published_at, options))


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one message of a batch: None if the broker confirmed it, else why not."""

    message: PublishedMessage
    error: BaseException | None


def publish_batch(
    publisher: ConfirmedPublisher,
    bodies: list[bytes],
    producer: Principal,
    options: PublishOptions | None = None,
    message_ids: list[str] | None = None,
) -> list[BatchOutcome]:
    """Publish every body as its own message (each with the same headers and delay, under the matching
    message_id or new ones), all in flight together; one outcome per body, in order."""
    options = options or PublishOptions()
    published_at = datetime.now(UTC)
    deliver_at = _deliver_at(published_at, options)
    ids: list[str | None] = list(message_ids) if message_ids is not None else [None] * len(bodies)
    messages = [
        (body, _stamped(producer, published_at, body, options, message_id))
        for body, message_id in zip(bodies, ids, strict=True)
    ]
    try:
        errors = publisher.publish_many(messages, delay=options.delay)
    except BaseException as error:
        count_published(error, len(messages))
        raise
    for outcome in errors:
        count_published(outcome)
    return [
        BatchOutcome(PublishedMessage(str(properties.message_id), published_at, deliver_at), error)
        for (_body, properties), error in zip(messages, errors, strict=True)
    ]


def take_messages(
    getter: MessageGetter,
    limit: int,
    wait: float,
    max_bytes: int | None = None,
    still_wanted: Callable[[], bool] | None = None,
) -> list[Delivery]:
    """Take and acknowledge up to `limit` messages (ending once their bodies pass `max_bytes`),
    waiting up to `wait` seconds for the first; nothing is taken once `still_wanted` says the answer
    has nobody to go to."""
    return getter.take(limit, wait, max_bytes=max_bytes, still_wanted=still_wanted)


def iso_time(moment: datetime | None) -> str | None:
    """A time as ISO 8601 to the millisecond, as the gateway writes it."""
    return None if moment is None else moment.isoformat(timespec="milliseconds")


# Visible ASCII but "%": what a header value shows as it is; anything else is percent-encoded
# UTF-8, so a value another AMQP client set can neither break the answer nor be lost.
_HEADER_SAFE = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) != "%")


def header_value(text: str) -> str:
    """`text` as an HTTP header value: itself when visible ASCII, else percent-encoded UTF-8."""
    return quote(text, safe=_HEADER_SAFE)


def message_headers(delivery: Delivery) -> dict[str, str]:
    """The message's metadata as response headers (values a header cannot hold are percent-encoded)."""
    envelope = Envelope.read(delivery)
    headers = {"Monty-Redelivered": "true" if delivery.redelivered else "false"}
    if delivery.remaining is not None:
        headers["Monty-Messages-Remaining"] = str(delivery.remaining)
    for name, value in (
        ("Monty-Message-Id", envelope.message_id),
        ("Monty-Published-At", iso_time(envelope.published_at)),
        ("Monty-Producer", envelope.producer),
        ("Monty-Producer-Name", envelope.producer_name),
        ("Monty-Request-Id", envelope.request_id),
        ("Monty-Traceparent", envelope.traceparent),
    ):
        if value is not None:
            headers[name] = header_value(value)
    for name, value in envelope.headers.items():
        headers[HEADER_PREFIX + name] = header_value(value)
    verified = producer_stamp.get().verified(delivery, delivery.body)
    headers["Monty-Producer-Verified"] = "true" if verified else "false"
    return headers
