"""The user service's tables, as typed SQLAlchemy models."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from monty_common.column_types import UTCDateTime

ROLE_SEPARATOR = ","


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of the user service's models."""


class User(Base):
    """An account: who may sign in, with which roles."""

    __tablename__ = "users"
    # Lower-cased usernames are unique, so names are unique regardless of case on any database.
    __table_args__ = (UniqueConstraint("username_key", name="uq_users_username_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    username: Mapped[str] = mapped_column(String(64))
    username_key: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Sorted, comma-separated role names.
    roles_text: Mapped[str] = mapped_column("roles", String(255), default="")
    disabled: Mapped[bool] = mapped_column(default=False)
    # Raised whenever the tokens issued so far must stop working (a role taken away, disabled, a new
    # password); tokens carry the version they were issued at in their `ver` claim.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    @property
    def roles(self) -> frozenset[str]:
        """The user's role names."""
        return frozenset(self.roles_text.split(ROLE_SEPARATOR)) - {""}

    @roles.setter
    def roles(self, roles: frozenset[str]) -> None:
        """Store `roles` sorted."""
        self.roles_text = ROLE_SEPARATOR.join(sorted(roles))

    def __repr__(self) -> str:
        """Never show the password hash."""
        return f"User(id={self.id!r}, username={self.username!r})"


class AuditEvent(Base):
    """One audited act: an admin's change, a login, a redrive; never a password or a token."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_time", "time"),)

    # Autoincrementing, so newer events have larger ids: the paging cursor.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    # The acting user's id (a token's sub) and name; null for an unknown login name's user id.
    actor_id: Mapped[str | None] = mapped_column(String(36))
    actor: Mapped[str | None] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(256))
    request_id: Mapped[str | None] = mapped_column(String(128))
    client: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
