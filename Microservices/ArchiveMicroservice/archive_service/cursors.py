"""Opaque keyset cursors: where the previous page ended, in which order."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Order = Literal["newest", "oldest"]


class InvalidCursor(ValueError):
    """The cursor was not made by this service for this order."""


@dataclass(frozen=True)
class Cursor:
    """The last row of a page: its published_at and id, and the page's order."""

    order: Order
    published_at: datetime
    row_id: int

    def encode(self) -> str:
        """The cursor as an opaque URL-safe token."""
        data = {"o": self.order, "t": self.published_at.isoformat(), "i": self.row_id}
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str, order: Order) -> Cursor:
    """The cursor `token` stands for, or InvalidCursor."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        cursor = Cursor(data["o"], datetime.fromisoformat(data["t"]), int(data["i"]))
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise InvalidCursor("not a cursor of this service") from None
    if cursor.published_at.tzinfo is None:
        raise InvalidCursor("not a cursor of this service")
    if cursor.order != order:
        raise InvalidCursor(f"the cursor belongs to order={cursor.order}")
    return cursor
