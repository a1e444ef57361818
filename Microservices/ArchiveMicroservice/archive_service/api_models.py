"""Models of the archive API's parameters and answers, for validation and the OpenAPI document."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from archive_service.cursors import Order, decode_cursor
from archive_service.models import MESSAGE_ID_MAX, PRODUCER_MAX

LIMIT_MAX = 1000


class MessagesQuery(BaseModel):
    """Which page of archived messages to list."""

    order: Order = Field("newest", description="newest first (default) or oldest first.")
    limit: int = Field(100, ge=1, le=LIMIT_MAX, description="Messages per page, 1 to 1000.")
    cursor: str | None = Field(
        None, max_length=512, description="next_cursor of the previous page, with the same order."
    )
    since: datetime | None = Field(None, description="Only messages published at or after (ISO 8601).")
    until: datetime | None = Field(None, description="Only messages published before (ISO 8601).")
    producer: str | None = Field(
        None, min_length=1, max_length=PRODUCER_MAX, description="Only this producer's (user id)."
    )

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """A time without a zone is UTC."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)

    @field_validator("cursor")
    @classmethod
    def _readable(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Refuse a cursor this service did not make for this order."""
        if value is not None and "order" in info.data:
            decode_cursor(value, info.data["order"])  # raises ValueError
        return value


class MessagePath(BaseModel):
    """The archived message a route shows."""

    message_id: str = Field(min_length=1, max_length=MESSAGE_ID_MAX)


class MessageOut(BaseModel):
    """An archived message."""

    message_id: str
    body: Any = Field(description="The message's JSON exactly as published, embedded as JSON.")
    producer: str | None = Field(description="The producer's user id (the token's sub), if known.")
    routing_key: str
    published_at: str = Field(description="When the gateway published it (ISO 8601, UTC).")
    archived_at: str = Field(description="When the archive stored it (ISO 8601, UTC).")
    size_bytes: int = Field(description="Size of the body in bytes.")


class MessagePageOut(BaseModel):
    """One page of archived messages."""

    items: list[MessageOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
