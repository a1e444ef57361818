"""The one strict JSON reader of every service.

RFC 8259 leaves room that parsers fill differently, and a value one parser reads one way and
another reads another way is a way past checks. So every body is refused (400, `invalid-json`)
when it holds `NaN`/`Infinity` (Python's parser takes them, they are not JSON), an object with a
key twice (parsers keep the first or the last), or containers nested deeper than a set depth
(parsers that recurse run out of stack). `invalid_params` names the place as a JSON Pointer.

The fast path is C: a depth count on the bytes, then `json.loads` whose object hook refuses
duplicate keys. Only a refused body is walked again in Python, to name where it fails.
"""

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NoReturn

from monty_common.json_walk import locate
from monty_common.problems import ProblemError

DEFAULT_MAX_DEPTH = 64
# The setting's ceiling: well under Python's own recursion limit, which the C parser obeys.
MAX_DEPTH_CEILING = 512

# What the depth count keeps of a body: quotes (to tell strings apart) and brackets.
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'"[]{}')
_TO_PARENS = bytes.maketrans(b"[{]}", b"(())")


class DuplicateKey(ValueError):
    """An object holds the same key twice."""


class TooDeep(ValueError):
    """Containers are nested deeper than allowed."""


def reject_constant(name: str) -> NoReturn:
    """NaN and Infinity are accepted by Python's parser but are not JSON."""
    raise ValueError(f"{name} is not a JSON value")


def skip_number(_text: str) -> int:
    """Numbers are checked by the parser's grammar; converting them would only limit their size."""
    return 0


def refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's members as a dict, or DuplicateKey when a key repeats."""
    members = dict(pairs)
    if len(members) != len(pairs):
        raise DuplicateKey("an object holds a key twice")
    return members


def check_pairs(pairs: list[tuple[str, Any]]) -> None:
    """Like refuse_duplicates for a caller that only validates: nothing is kept of the object."""
    if len({key for key, _value in pairs}) != len(pairs):
        raise DuplicateKey("an object holds a key twice")


def nesting_exceeds(raw: bytes, max_depth: int) -> bool:
    """Whether containers in `raw` nest deeper than `max_depth` (brackets in strings do not count).

    Each pass of bytes.replace removes the innermost pairs, one level, in C. A remainder that no
    pass shortens is unbalanced: too deep if it holds more openings than allowed, otherwise left
    for the parser to name as a syntax error.
    """
    # Escaped backslashes, then escaped quotes, go first (left to right, as a parser pairs them),
    # so every quote left delimits a string; the text between every other pair of quotes is in one.
    structure = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = b"".join(structure.split(b'"')[::2]).translate(_TO_PARENS)
    for _level in range(max_depth):
        if not brackets:
            return False
        shorter = brackets.replace(b"()", b"")
        if len(shorter) == len(brackets):
            return brackets.count(b"(") > max_depth
        brackets = shorter
    return bool(brackets)


def invalid_json(detail: str, pointer: str | None = None, reason: str | None = None) -> ProblemError:
    """The 400 problem of a body that is not strict JSON; `pointer` names where, when known."""
    extensions: dict[str, Any] = {}
    if pointer is not None:
        extensions["invalid_params"] = [{"name": pointer, "reason": reason or detail}]
    return ProblemError(400, "invalid-json", "Invalid JSON", detail, **extensions)


def loads(
    raw: bytes,
    max_depth: int,
    parse_int: Callable[[str], Any] | None = None,
    parse_float: Callable[[str], Any] | None = None,
    keep: bool = True,
) -> Any:
    """The JSON value of the UTF-8 `raw`, or a 400 problem saying what is wrong and where.

    `keep=False` only validates (objects become None), for a caller that publishes the bytes.
    """
    if nesting_exceeds(raw, max_depth):
        where = locate(raw.decode("utf-8", "replace"), max_depth)
        raise invalid_json(
            f"The body's JSON is nested too deeply (more than {max_depth} levels).",
            where[0] if where else None,
            f"nested deeper than {max_depth} levels",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise invalid_json(f"The body is not UTF-8 (byte {error.start}).") from None
    try:
        return json.loads(
            text,
            parse_constant=reject_constant,
            parse_int=parse_int,
            parse_float=parse_float,
            object_pairs_hook=refuse_duplicates if keep else check_pairs,
        )
    except DuplicateKey:
        where = locate(text, max_depth)
        pointer = where[0] if where else None
        raise invalid_json(
            f"The body's JSON holds an object with a key twice{f' ({pointer!r})' if pointer else ''}.",
            pointer,
            "duplicate key",
        ) from None
    except json.JSONDecodeError as error:
        raise invalid_json(
            f"The body is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    except ValueError as error:
        raise invalid_json(f"The body is not valid JSON: {error}.") from None
    except RecursionError:
        raise invalid_json("The body's JSON is nested too deeply.") from None


def is_json(text: str, max_depth: int = DEFAULT_MAX_DEPTH) -> bool:
    """Whether `text` is one strict JSON value (numbers are not converted, so none is too large)."""
    try:
        loads(text.encode("utf-8"), max_depth, skip_number, skip_number, keep=False)
    except ProblemError:
        return False
    return True


def _exact_int(text: str) -> int | Decimal:
    """An integer; one over Python's digit limit (4300), which is still JSON, as a Decimal."""
    return int(text) if len(text) <= 4000 else Decimal(text)


def exact_loads(raw: bytes, max_depth: int) -> Any:
    """The value of `raw` with exact numbers (int, or Decimal for fractions and huge integers)."""
    return loads(raw, max_depth, parse_int=_exact_int, parse_float=Decimal)
