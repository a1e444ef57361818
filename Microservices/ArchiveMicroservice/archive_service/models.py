"""The archived_messages table, as a typed SQLAlchemy model."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from monty_common.column_types import UTCDateTime
from monty_common.envelope import TEXT_MAX
from monty_common.request_ids import REQUEST_ID_MAX

# As long as the envelope reads them.
MESSAGE_ID_MAX = TEXT_MAX
PRODUCER_MAX = TEXT_MAX
ROUTING_KEY_MAX = 255
# 00-<32 hex>-<16 hex>-<2 hex>
TRACEPARENT_LENGTH = 55


class Base(DeclarativeBase):
    """Base of the archive's models."""


class ArchivedMessage(Base):
    """One message copied from the exchange, stored once however often it was delivered."""

    __tablename__ = "archived_messages"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_archived_messages_message_id"),
        Index("ix_archived_messages_published_at_id", "published_at", "id"),
        Index("ix_archived_messages_producer_published_at", "producer", "published_at"),
    )

    # SQLite only auto-increments an INTEGER primary key; PostgreSQL gets a BIGINT identity.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID_MAX))
    # The body's JSON text exactly as published (UTF-8), so what is served is what was sent.
    body: Mapped[str] = mapped_column(Text)
    producer: Mapped[str | None] = mapped_column(String(PRODUCER_MAX))
    # Whether the gateway's signed stamp vouched for `producer` (monty_common/producer_stamp.py).
    producer_verified: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The headers the producer attached, {name: value} (monty_common/user_headers.py); signed with it.
    headers: Mapped[dict[str, str]] = mapped_column(JSON, server_default=text("'{}'"))
    # The id of the request that published it, and its W3C traceparent (monty_common/request_ids.py).
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_MAX))
    traceparent: Mapped[str | None] = mapped_column(String(TRACEPARENT_LENGTH))
    routing_key: Mapped[str] = mapped_column(String(ROUTING_KEY_MAX))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime())
    size_bytes: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        """Name the message, never its body."""
        return f"ArchivedMessage(id={self.id!r}, message_id={self.message_id!r})"
