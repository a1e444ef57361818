"""Keyset cursors: the position (published_at, row id) where the previous page ended."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

Order = Literal["newest", "oldest"]

# Microseconds since the epoch, then the row's id; any such position is a valid place to resume.
CURSOR_PATTERN = r"^[0-9]{1,16}\.[0-9]{1,18}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class InvalidCursor(ValueError):
    """The text is not a cursor."""


@dataclass(frozen=True)
class Cursor:
    """The last row of a page: its published_at and its id (which breaks ties)."""

    published_at: datetime
    row_id: int

    def encode(self) -> str:
        """The cursor as URL-safe text."""
        return f"{(self.published_at - _EPOCH) // _MICROSECOND}.{self.row_id}"


def decode_cursor(token: str) -> Cursor:
    """The position `token` stands for, or InvalidCursor."""
    if re.fullmatch(CURSOR_PATTERN, token) is None:
        raise InvalidCursor("not a cursor: pass next_cursor of the previous page")
    micros, row_id = token.split(".")
    return Cursor(_EPOCH + int(micros) * _MICROSECOND, int(row_id))
