"""The message envelope: the AMQP properties MontyExchange stamps on a message, and how any message's
are read back.

Every service and test reads envelopes here. Messages from other AMQP clients may carry anything,
so reading is tolerant: a value that cannot be used is None, never an error. Text is text wherever
it is shown (a JSON answer, an archive row); only HTTP headers need it encoded (the exchange's job).
"""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pika
from pika.delivery_mode import DeliveryMode

from monty_common.request_ids import (
    MESSAGE_REQUEST_ID,
    MESSAGE_TRACEPARENT,
    valid_request_id,
    valid_traceparent,
)
from monty_common.user_headers import read_user_headers

APP_ID = "montyexchange"
JSON_MEDIA_TYPE = "application/json"
FALLBACK_MEDIA_TYPE = "application/octet-stream"
# Header names.
PUBLISHED_AT = "published_at"
PRODUCER = "producer"  # the producer's user id (its token's sub)
PRODUCER_NAME = "producer_name"
# The gateway's HMAC over id, producer, time, client headers and body (monty_common/producer_stamp.py).
PRODUCER_SIGNATURE = "producer_signature"
# The headers the client attached, as one table {name: value} (monty_common/user_headers.py), so
# they never collide with the gateway's own.
USER_HEADERS = "user_headers"
# Why a consumer gave a message up (set on the copy it dead-letters).
DEAD_LETTER_REASON = "dead_letter_reason"
# Deliveries of the earlier copies of a message the gateway republished after a failed attempt
# (a lease that expired or was released); its delivery count goes on from there.
DELIVERIES = "deliveries"
# The error the last release (nack) of a message carried.
LAST_ERROR = "last_error"
# On a dead letter: the queue it was taken from, and when it was given up (ISO 8601).
SOURCE_QUEUE = "source_queue"
DEAD_LETTERED_AT = "dead_lettered_at"
# Longest text value read (ids, names, timestamps); the archive's columns hold as much.
TEXT_MAX = 255

_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# type/subtype, then parameters of visible ASCII, spaces and tabs only: never a line break.
_MEDIA_TYPE = re.compile(rf"{_TCHARS}/{_TCHARS}([ \t]*;[\x20-\x7e\t]*)?")
# Control characters have no place in ids, names or times (and PostgreSQL cannot store NUL).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def stamp(
    producer: str,
    producer_name: str,
    published_at: datetime,
    message_id: str | None = None,
    user_headers: Mapping[str, str] | None = None,
    trace: Mapping[str, str] | None = None,
) -> pika.BasicProperties:
    """Properties of a persistent JSON message `producer` publishes, under a new message_id by default,
    with the client's own headers (already checked) if any, and the publishing request's `trace`
    headers (monty_common/request_ids.py)."""
    headers: dict[str, Any] = {
        PUBLISHED_AT: published_at.isoformat(timespec="milliseconds"),
        PRODUCER: producer,
        PRODUCER_NAME: producer_name,
    }
    if user_headers:
        headers[USER_HEADERS] = dict(user_headers)
    headers.update(trace or {})
    return pika.BasicProperties(
        content_type=JSON_MEDIA_TYPE,
        delivery_mode=DeliveryMode.Persistent,
        message_id=message_id or str(uuid.uuid4()),
        timestamp=int(published_at.timestamp()),
        app_id=APP_ID,
        # Who sent it, for consumers and the archive (user_id would have to match the AMQP login).
        headers=headers,
    )


class MessageProperties(Protocol):
    """What an envelope is read from: pika's BasicProperties, or a message taken by a link."""

    @property
    def content_type(self) -> str | None:
        """The body's media type."""

    @property
    def message_id(self) -> str | None:
        """The message's id."""

    @property
    def timestamp(self) -> int | None:
        """Seconds since the epoch."""

    @property
    def headers(self) -> Mapping[str, Any] | None:
        """Application headers."""


@dataclass(frozen=True)
class Envelope:
    """A message's metadata as MontyExchange understands it; None where a value is missing or unusable."""

    message_id: str | None
    published_at: datetime | None
    producer: str | None
    producer_name: str | None
    # A well-formed media type, or application/octet-stream.
    content_type: str
    # The client's own headers that keep the rules of monty_common/user_headers.py, sorted by name.
    headers: dict[str, str]
    # The id of the request that published it, and its W3C traceparent, when valid.
    request_id: str | None = None
    traceparent: str | None = None

    @classmethod
    def read(cls, properties: MessageProperties) -> "Envelope":
        """The envelope of any message, whoever published it; never raises."""
        headers = properties.headers if isinstance(properties.headers, Mapping) else {}
        return cls(
            message_id=text_value(properties.message_id),
            published_at=_published_at(text_value(headers.get(PUBLISHED_AT)), properties.timestamp),
            producer=text_value(headers.get(PRODUCER)),
            producer_name=text_value(headers.get(PRODUCER_NAME)),
            content_type=_media_type(properties.content_type),
            headers=read_user_headers(headers.get(USER_HEADERS)),
            request_id=valid_request_id(text_value(headers.get(MESSAGE_REQUEST_ID))),
            traceparent=valid_traceparent(text_value(headers.get(MESSAGE_TRACEPARENT))),
        )

    @property
    def is_json(self) -> bool:
        """Whether the body is declared JSON."""
        return self.content_type.split(";")[0].strip().lower() == JSON_MEDIA_TYPE


def text_value(value: object) -> str | None:
    """`value` as text: a string, or bytes holding UTF-8, of 1 to TEXT_MAX characters and no control
    characters; else None."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(value, str) and 0 < len(value) <= TEXT_MAX and not _CONTROL.search(value):
        return value
    return None


def _published_at(stamped: str | None, timestamp: object) -> datetime | None:
    """When the message was published: its published_at header (ISO 8601), else its AMQP timestamp."""
    parsed = iso_time_value(stamped)
    if parsed is not None:
        return parsed
    if isinstance(timestamp, int):
        try:
            return datetime.fromtimestamp(timestamp, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def iso_time_value(value: str | None) -> datetime | None:
    """An ISO 8601 time in UTC (one without a zone is taken as UTC); None if `value` is not one."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one that leaves the calendar in UTC
        return None


def _media_type(value: object) -> str:
    """A well-formed media type, or application/octet-stream."""
    if isinstance(value, str) and len(value) <= TEXT_MAX and _MEDIA_TYPE.fullmatch(value):
        return value
    return FALLBACK_MEDIA_TYPE
