"""Turning a delivered message into the row the archive keeps, or refusing it as poison."""

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from archive_service.models import ROUTING_KEY_MAX
from monty_common.envelope import TEXT_MAX, Envelope
from monty_common.producer_stamp import ProducerStamp
from monty_common.strict_json import DEFAULT_MAX_DEPTH, is_json


class PoisonMessage(Exception):
    """A message the archive can never store: redelivering it would not help."""


@dataclass(frozen=True)
class ArchiveRecord:
    """The columns of one archived message."""

    message_id: str
    body: str
    producer: str | None
    producer_verified: bool
    routing_key: str
    published_at: datetime
    archived_at: datetime
    size_bytes: int
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str | None = None
    traceparent: str | None = None

    def as_row(self) -> dict[str, Any]:
        """The record as insert values (its fields are the table's column names)."""
        return asdict(self)


def json_text(body: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> str:
    """The body as text after checking it is one strict UTF-8 JSON document, or PoisonMessage."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PoisonMessage("the body is not UTF-8 JSON (UnicodeDecodeError)") from None
    if not is_json(text, max_depth):
        raise PoisonMessage("the body is not UTF-8 JSON")
    return text


def record_of(
    method: Any,
    properties: Any,
    body: bytes,
    archived_at: datetime,
    stamp: ProducerStamp,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> ArchiveRecord:
    """The row for a delivery (pika's method and properties), or PoisonMessage saying why there is none;
    `stamp` tells whether its producer is verified."""
    envelope = Envelope.read(properties)
    if envelope.message_id is None:
        raise PoisonMessage(f"the message has no usable message_id (1 to {TEXT_MAX} characters of text)")
    return ArchiveRecord(
        message_id=envelope.message_id,
        body=json_text(body, max_depth),
        producer=envelope.producer,
        producer_verified=stamp.verified(properties, body),
        routing_key=str(method.routing_key)[:ROUTING_KEY_MAX],
        published_at=envelope.published_at or archived_at,
        archived_at=archived_at,
        size_bytes=len(body),
        headers=envelope.headers,
        request_id=envelope.request_id,
        traceparent=envelope.traceparent,
    )
