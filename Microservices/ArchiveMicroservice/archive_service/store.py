"""Writing archived messages: idempotent inserts, so a redelivered message never makes a second row."""

from collections.abc import Sequence

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from archive_service.models import ArchivedMessage
from archive_service.records import ArchiveRecord


def _insert_ignoring_duplicates(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (message_id) DO NOTHING in the session's dialect."""
    if dialect == "postgresql":
        return postgresql.insert(ArchivedMessage).on_conflict_do_nothing(index_elements=["message_id"])
    if dialect == "sqlite":
        return sqlite.insert(ArchivedMessage).on_conflict_do_nothing(index_elements=["message_id"])
    raise ValueError(f"the archive does not support the {dialect} database")


def store_records(session: Session, records: Sequence[ArchiveRecord]) -> None:
    """Insert `records` in the session's transaction; message_ids already stored are skipped."""
    if not records:
        return
    statement = _insert_ignoring_duplicates(session.get_bind().dialect.name)
    session.execute(statement, [record.as_row() for record in records])
