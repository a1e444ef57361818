"""Headers clients attach to their messages: what their names and values may be, and reading them back.

A client sends them on publish as HTTP headers `Monty-Header-<name>: <value>`; the gateway keeps them
in one AMQP header, a table {name: value} (envelope.USER_HEADERS), apart from its own. The rules fit
what HTTP carries reliably both ways: names as the HTTP header names they come from (lower-cased,
no underscore, which servers drop), values of visible ASCII and spaces.
"""

import re
from collections.abc import Mapping

NAME_PATTERN = "[a-z0-9][a-z0-9-]{0,63}"
MAX_HEADERS = 20
MAX_VALUE_LENGTH = 256
# Names and values together, in characters (all ASCII, so bytes too).
MAX_TOTAL_LENGTH = 4096
# x-: the broker's own (x-death, x-delivery-count, x-first-death-...); monty-: the gateway's.
RESERVED_PREFIXES = ("x-", "monty-")

_NAME = re.compile(NAME_PATTERN)
_VALUE = re.compile(r"[\x20-\x7e]*")


def name_fault(name: str) -> str | None:
    """Why `name` (already lower-cased) cannot name a header, or None when it can."""
    if not _NAME.fullmatch(name):
        return f"a name is 1 to 64 lower-case letters, digits and hyphens, no hyphen first ({NAME_PATTERN})"
    if name.startswith(RESERVED_PREFIXES):
        return "names starting with x- (the broker's) or monty- (the gateway's) are reserved"
    return None


def value_fault(value: str) -> str | None:
    """Why `value` cannot be a header's value, or None when it can."""
    if len(value) > MAX_VALUE_LENGTH:
        return f"a value is at most {MAX_VALUE_LENGTH} characters"
    if not _VALUE.fullmatch(value):
        return "a value holds only visible ASCII characters and spaces"
    return None


def total_fault(headers: Mapping[str, str]) -> str | None:
    """Why these headers (each valid) are too many or too large together, or None."""
    if len(headers) > MAX_HEADERS:
        return f"a message carries at most {MAX_HEADERS} headers"
    if sum(len(name) + len(value) for name, value in headers.items()) > MAX_TOTAL_LENGTH:
        return f"names and values together are at most {MAX_TOTAL_LENGTH} characters"
    return None


def read_user_headers(table: object) -> dict[str, str]:
    """The usable headers of a table another AMQP client may have filled with anything, sorted by
    name: entries breaking a rule are dropped, and past the limits the last names; never raises."""
    if not isinstance(table, Mapping):
        return {}
    usable: dict[str, str] = {}
    for name, raw in table.items():
        value = _text(raw)
        if (
            isinstance(name, str)
            and value is not None
            and name_fault(name) is None
            and not value_fault(value)
        ):
            usable[name] = value
    kept: dict[str, str] = {}
    total = 0
    for name in sorted(usable):
        total += len(name) + len(usable[name])
        if len(kept) == MAX_HEADERS or total > MAX_TOTAL_LENGTH:
            break
        kept[name] = usable[name]
    return kept


def _text(value: object) -> str | None:
    """A table value as text: a string, or ASCII bytes; else None."""
    if isinstance(value, bytes):
        return value.decode("ascii") if value.isascii() else None
    return value if isinstance(value, str) else None
