"""Models of the archive API's parameters and answers, for validation and the OpenAPI document."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from archive_service.cursors import CURSOR_PATTERN, Order
from archive_service.models import MESSAGE_ID_MAX, PRODUCER_MAX
from monty_common.query_model import ParameterModel

LIMIT_MAX = 1000
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")


def _date_time_text(value: object) -> object:
    """Only an RFC 3339 date-time is a time here: pydantic alone would read a bare number as Unix time."""
    if isinstance(value, str) and _DATE_TIME.fullmatch(value) is None:
        raise ValueError("not an RFC 3339 date-time such as 2026-11-28T09:30:00Z")
    return value


DateTimeText = Annotated[datetime, BeforeValidator(_date_time_text)]


class MessagesQuery(ParameterModel):
    """Which page of archived messages to list."""

    order: Order = Field("newest", description="newest first (default) or oldest first.")
    limit: int = Field(100, ge=1, le=LIMIT_MAX, description="Messages per page, 1 to 1000.")
    cursor: str | None = Field(
        None,
        pattern=CURSOR_PATTERN,
        description="next_cursor of the previous page: the listing resumes after that position.",
    )
    since: DateTimeText | None = Field(None, description="Only messages published at or after (ISO 8601).")
    until: DateTimeText | None = Field(None, description="Only messages published before (ISO 8601).")
    producer: str | None = Field(
        None, min_length=1, max_length=PRODUCER_MAX, description="Only this producer's (user id)."
    )

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """The time in UTC (one without a zone is UTC); one that leaves the calendar in UTC is refused."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("outside the years 1 to 9999 once in UTC") from None


class MessagePath(BaseModel):
    """The archived message a route shows."""

    message_id: str = Field(min_length=1, max_length=MESSAGE_ID_MAX)


class MessageOut(BaseModel):
    """An archived message."""

    message_id: str
    body: Any = Field(description="The message's JSON exactly as published, embedded as JSON.")
    producer: str | None = Field(description="The producer's user id (the token's sub), if known.")
    producer_verified: bool = Field(
        description="Whether the gateway authenticated the producer (its signed stamp held); false for "
        "a message published past the gateway, whatever its producer header said."
    )
    routing_key: str
    published_at: str = Field(description="When the gateway published it (ISO 8601, UTC).")
    archived_at: str = Field(description="When the archive stored it (ISO 8601, UTC).")
    size_bytes: int = Field(description="Size of the body in bytes.")
    headers: dict[str, str] = Field(
        description="The headers its producer attached on publish (Monty-Header-<name>), by lower-case "
        "name; covered by producer_verified."
    )
    request_id: str | None = Field(
        description="The X-Request-Id of the request that published it, if known (null for messages "
        "archived before it was kept)."
    )
    traceparent: str | None = Field(description="The W3C traceparent the publishing request carried, if any.")


class MessagePageOut(BaseModel):
    """One page of archived messages."""

    items: list[MessageOut]
    count: int = Field(description="How many messages this page holds.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
    byte_limited: bool = Field(
        description="True when the page stopped before `limit` because its messages passed the byte "
        "budget (MONTY_MAX_PAGE_BYTES); next_cursor then goes on."
    )
