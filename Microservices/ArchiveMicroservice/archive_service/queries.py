"""Reading the archive: keyset-paginated listings and single messages, below the HTTP layer."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, Text, and_, cast, func, or_, select

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


# What an item adds to a page besides its body and headers: its other metadata as JSON, at most.
ITEM_OVERHEAD_BYTES = 1024


@dataclass(frozen=True)
class MessagePage:
    """Up to `limit` messages, the cursor of the next page (None on the last), and whether the page
    stopped early at its byte budget."""

    items: list[ArchivedMessage]
    next_cursor: str | None
    byte_limited: bool = False


def _after(query: Select[int, int], cursor: Cursor, order: Order) -> Select[int, int]:
    """Rows strictly past the cursor in `order` (published_at, then id to break ties)."""
    at, row_id = ArchivedMessage.published_at, ArchivedMessage.id
    if order == "newest":
        return query.where(
            or_(at < cursor.published_at, and_(at == cursor.published_at, row_id < cursor.row_id))
        )
    return query.where(or_(at > cursor.published_at, and_(at == cursor.published_at, row_id > cursor.row_id)))


def list_messages(selection: ListFilter, limit: int, cursor: Cursor | None, max_bytes: int) -> MessagePage:
    """A page of archived messages, at most `limit` of them and about `max_bytes` (at least one
    message, however large); since is inclusive, until exclusive.

    The sizes of the candidates are read first and only the bodies that fit are loaded, so a page
    of large messages never holds more than its budget in memory.
    """
    at, row_id = ArchivedMessage.published_at, ArchivedMessage.id
    # A body's size, and its headers' as stored (JSON text; served alike, give or take spaces).
    size = ArchivedMessage.size_bytes + func.length(cast(ArchivedMessage.headers, Text))
    query = select(row_id, size)
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
        sizes = [(identifier, size) for identifier, size in session.execute(query.limit(limit + 1))]
        chosen = _fitting(sizes[:limit], max_bytes)
        found = session.scalars(select(ArchivedMessage).where(row_id.in_(chosen))).all()
        by_id = {message.id: message for message in found}
        items = [by_id[identifier] for identifier in chosen]
    byte_limited = len(chosen) < min(len(sizes), limit)
    if len(sizes) <= len(chosen):
        return MessagePage(items, None)
    last = items[-1]
    return MessagePage(items, Cursor(last.published_at, last.id).encode(), byte_limited)


def _fitting(sizes: list[tuple[int, int]], max_bytes: int) -> list[int]:
    """The ids of the leading rows whose bodies (and metadata) fit in `max_bytes`; the first always."""
    chosen: list[int] = []
    total = 0
    for identifier, size in sizes:
        total += size + ITEM_OVERHEAD_BYTES
        if chosen and total > max_bytes:
            break
        chosen.append(identifier)
    return chosen


def get_message(message_id: str) -> ArchivedMessage:
    """The archived message with `message_id`, or a 404 problem."""
    with database.session() as session:
        message = session.scalar(select(ArchivedMessage).where(ArchivedMessage.message_id == message_id))
    if message is None:
        raise ProblemError(
            404, "message-not-found", "Not Found", f"No archived message has the id {message_id!r}."
        )
    return message
