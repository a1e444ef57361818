"""Turning a delivered message into the row the archive keeps, or refusing it as poison."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from archive_service.models import MESSAGE_ID_MAX, PRODUCER_MAX, ROUTING_KEY_MAX
from monty_common.strict_json import is_json


class PoisonMessage(Exception):
    """A message the archive can never store: redelivering it would not help."""


@dataclass(frozen=True)
class ArchiveRecord:
    """The columns of one archived message."""

    message_id: str
    body: str
    producer: str | None
    routing_key: str
    published_at: datetime
    archived_at: datetime
    size_bytes: int

    def as_row(self) -> dict[str, Any]:
        """The record as insert values."""
        return {
            "message_id": self.message_id,
            "body": self.body,
            "producer": self.producer,
            "routing_key": self.routing_key,
            "published_at": self.published_at,
            "archived_at": self.archived_at,
            "size_bytes": self.size_bytes,
        }


def json_text(body: bytes) -> str:
    """The body as text after checking it is one UTF-8 JSON document, or PoisonMessage."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PoisonMessage("the body is not UTF-8 JSON (UnicodeDecodeError)") from None
    if not is_json(text):
        raise PoisonMessage("the body is not UTF-8 JSON")
    return text


def _text_header(headers: dict[str, Any], name: str, limit: int) -> str | None:
    """A header's value if it is a string that fits its column."""
    value = headers.get(name)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _published_at(headers: dict[str, Any], timestamp: int | None, archived_at: datetime) -> datetime:
    """When the message was published: its published_at header, its AMQP timestamp, or now."""
    stamp = _text_header(headers, "published_at", 64)
    if stamp is not None:
        try:
            parsed = datetime.fromisoformat(stamp)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if timestamp is not None:
        try:
            return datetime.fromtimestamp(timestamp, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return archived_at


def record_of(method: Any, properties: Any, body: bytes, archived_at: datetime) -> ArchiveRecord:
    """The row for a delivery (pika's method and properties), or PoisonMessage saying why there is none."""
    message_id = properties.message_id
    if not isinstance(message_id, str) or not message_id:
        raise PoisonMessage("the message has no message_id")
    if len(message_id) > MESSAGE_ID_MAX:
        raise PoisonMessage("the message_id is too long")
    headers = dict(properties.headers or {})
    return ArchiveRecord(
        message_id=message_id,
        body=json_text(body),
        producer=_text_header(headers, "producer", PRODUCER_MAX),
        routing_key=str(method.routing_key)[:ROUTING_KEY_MAX],
        published_at=_published_at(headers, properties.timestamp, archived_at),
        archived_at=archived_at,
        size_bytes=len(body),
    )
