"""Reading the archive: keyset-paginated listings and single messages, below the HTTP layer."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select

from archive_service.cursors import Cursor, Order
from archive_service.extensions import database
from archive_service.models import ArchivedMessage
from monty_common.problems import ProblemError


@dataclass(frozen=True)
class ListFilter:
    """Which archived messages a listing shows, and in which order."""

    order: Order = "newest"
    since: datetime | None = None
    until: datetime | None = None
    producer: str | None = None


@dataclass(frozen=True)
class MessagePage:
    """Up to `limit` messages, and the cursor of the next page (None on the last)."""

    items: list[ArchivedMessage]
    next_cursor: str | None


def _after(query: Select[ArchivedMessage], cursor: Cursor, order: Order) -> Select[ArchivedMessage]:
    """Rows strictly past the cursor in `order` (published_at, then id to break ties)."""
    at, row_id = ArchivedMessage.published_at, ArchivedMessage.id
    if order == "newest":
        return query.where(
            or_(at < cursor.published_at, and_(at == cursor.published_at, row_id < cursor.row_id))
        )
    return query.where(or_(at > cursor.published_at, and_(at == cursor.published_at, row_id > cursor.row_id)))


def list_messages(selection: ListFilter, limit: int, cursor: Cursor | None) -> MessagePage:
    """A page of archived messages; since is inclusive, until exclusive."""
    at, row_id = ArchivedMessage.published_at, ArchivedMessage.id
    query = select(ArchivedMessage)
    if selection.order == "newest":
        query = query.order_by(at.desc(), row_id.desc())
    else:
        query = query.order_by(at.asc(), row_id.asc())
    if selection.since is not None:
        query = query.where(at >= selection.since)
    if selection.until is not None:
        query = query.where(at < selection.until)
    if selection.producer is not None:
        query = query.where(ArchivedMessage.producer == selection.producer)
    if cursor is not None:
        query = _after(query, cursor, selection.order)
    with database.session() as session:
        rows = list(session.scalars(query.limit(limit + 1)))
    items = rows[:limit]
    if len(rows) <= limit:
        return MessagePage(items, None)
    last = items[-1]
    return MessagePage(items, Cursor(last.published_at, last.id).encode())


def get_message(message_id: str) -> ArchivedMessage:
    """The archived message with `message_id`, or a 404 problem."""
    with database.session() as session:
        message = session.scalar(select(ArchivedMessage).where(ArchivedMessage.message_id == message_id))
    if message is None:
        raise ProblemError(
            404, "message-not-found", "Not Found", f"No archived message has the id {message_id!r}."
        )
    return message
