"""Dead letters: the copy of a message put in a dead-letter queue, how any dead letter is read, and
the copy a redrive puts back.

A dead letter is its original with every property and header kept (so its producer signature
still holds) and five headers added (envelope.py names them). Whoever else writes to a dead-letter
queue may write anything, so reading is tolerant, as the envelope's is.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pika
from pika.delivery_mode import DeliveryMode

from monty_common.envelope import (
    DEAD_LETTER_REASON,
    DEAD_LETTERED_AT,
    DELIVERIES,
    LAST_ERROR,
    SOURCE_QUEUE,
    TEXT_MAX,
    iso_time_value,
    text_value,
)

# Longest last error kept (the nack's error text, cut to this many characters).
LAST_ERROR_MAX = 1000
# What a redrive takes off: the message starts again as it was published, its count afresh.
DEAD_LETTER_HEADERS = (DEAD_LETTER_REASON, LAST_ERROR, SOURCE_QUEUE, DEAD_LETTERED_AT, DELIVERIES)

# An error text may span lines; other control characters make it unusable.
_ERROR_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def dead_letter_properties(
    properties: Any,
    reason: str,
    *,
    source_queue: str | None = None,
    last_error: str | None = None,
    deliveries: int | None = None,
) -> pika.BasicProperties:
    """A message's properties for its copy in a dead-letter queue: why (`reason`), when (now), and,
    where given, the queue it leaves, the last error a release carried and the deliveries made.

    A header not given keeps the value the message carried, if any.
    """
    headers = _headers(properties)
    headers[DEAD_LETTER_REASON] = reason[:TEXT_MAX]
    headers[DEAD_LETTERED_AT] = datetime.now(UTC).isoformat(timespec="milliseconds")
    if source_queue is not None:
        headers[SOURCE_QUEUE] = source_queue
    if last_error is not None:
        headers[LAST_ERROR] = last_error[:LAST_ERROR_MAX]
    if deliveries is not None:
        headers[DELIVERIES] = deliveries
    return _copy(properties, headers)


def redrive_properties(properties: Any) -> pika.BasicProperties:
    """A dead letter's properties without the dead-letter headers, for its copy put back in its queue."""
    headers = {name: value for name, value in _headers(properties).items() if name not in DEAD_LETTER_HEADERS}
    return _copy(properties, headers)


def _headers(properties: Any) -> dict[str, Any]:
    """A copy of the message's headers (none if it has none)."""
    return dict(properties.headers) if isinstance(properties.headers, Mapping) else {}


def _copy(properties: Any, headers: dict[str, Any]) -> pika.BasicProperties:
    """The message's properties with `headers`, persistent.

    user_id is left out (the broker refuses a publisher naming another login) and expiration too
    (a dead letter waits for someone to read it; a redriven one for a consumer).
    """
    return pika.BasicProperties(
        content_type=properties.content_type,
        content_encoding=properties.content_encoding,
        headers=headers,
        delivery_mode=DeliveryMode.Persistent,
        priority=properties.priority,
        correlation_id=properties.correlation_id,
        reply_to=properties.reply_to,
        message_id=properties.message_id,
        timestamp=properties.timestamp,
        type=properties.type,
        app_id=properties.app_id,
        cluster_id=properties.cluster_id,
    )


@dataclass(frozen=True)
class DeadLetterInfo:
    """Why and when a message was given up; None where a value is missing or unusable."""

    reason: str | None
    last_error: str | None
    source_queue: str | None
    dead_lettered_at: datetime | None
    delivery_count: int | None

    @classmethod
    def read(cls, headers: object) -> "DeadLetterInfo":
        """What the headers of any message in a dead-letter queue say; never raises."""
        values = headers if isinstance(headers, Mapping) else {}
        count = values.get(DELIVERIES)
        return cls(
            reason=text_value(values.get(DEAD_LETTER_REASON)),
            last_error=_error_text(values.get(LAST_ERROR)),
            source_queue=text_value(values.get(SOURCE_QUEUE)),
            dead_lettered_at=iso_time_value(text_value(values.get(DEAD_LETTERED_AT))),
            delivery_count=count if type(count) is int and count >= 0 else None,
        )


def _error_text(value: object) -> str | None:
    """An error text: a string, or UTF-8 bytes, of 1 to LAST_ERROR_MAX characters (lines allowed)."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(value, str) and 0 < len(value) <= LAST_ERROR_MAX and not _ERROR_CONTROL.search(value):
        return value
    return None
