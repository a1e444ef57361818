"""The exchange's one table, as a typed SQLAlchemy model: idempotency keys, in a database store."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from monty_common.column_types import UTCDateTime


class Base(DeclarativeBase):
    """Base of the exchange service's models."""


class IdempotencyKey(Base):
    """A claimed Idempotency-Key (see idempotency_records.KeyRecord)."""

    __tablename__ = "idempotency_keys"

    # SHA-256 (hex) of route, producer and key (and element index): fixed size, whatever the key.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(36))
    owner: Mapped[str] = mapped_column(String(32))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime())
    # Expired rows are purged as keys are claimed.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    answer: Mapped[str | None] = mapped_column(Text())
