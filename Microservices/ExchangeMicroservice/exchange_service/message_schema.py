"""The optional JSON Schema that every message body must match (MONTY_MESSAGE_SCHEMA)."""

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import jsonschema_rs

from monty_common.json_walk import json_pointer
from monty_common.problems import ProblemError
from monty_common.strict_json import reject_constant

__all__ = ["JsonSchema", "MessageSchema", "json_pointer", "load_message_schema", "schema_violation"]

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
MAX_LISTED_ERRORS = 20
MAX_REASON_CHARS = 300
# Reasons say "the value ..." instead of quoting the body: the pointer names it, and a quoted
# instance can be as large as the body itself.
VALUE_MASK = "the value"

JsonSchema = dict[str, Any] | bool

# The largest finite double; a number past it is infinity to a reader that uses doubles.
_DOUBLE_MAX = sys.float_info.max
BEYOND_DOUBLE = "a number beyond the range of a double (about 1.8e308)"


def _read_document(path: Path) -> JsonSchema:
    """The JSON value in `path`, which must be an object or a boolean; ValueError says why not."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    try:
        document = json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except (ValueError, RecursionError) as error:
        raise ValueError(f"{path} is not JSON: {error}") from None
    if not isinstance(document, dict | bool):
        raise ValueError(f"{path} holds a JSON {type(document).__name__}; a schema is an object or a boolean")
    return document


def _compile(document: JsonSchema, path: Path) -> jsonschema_rs.Validator:
    """A draft 2020-12 validator of `document`; ValueError says why it is not a valid schema."""
    declared = document.get("$schema", DRAFT_2020_12) if isinstance(document, dict) else DRAFT_2020_12
    if not isinstance(declared, str) or declared.rstrip("#") != DRAFT_2020_12:
        raise ValueError(f"{path} declares $schema {declared!r}; only {DRAFT_2020_12} is supported")
    try:
        # Offline: a $ref to another document is refused at start instead of fetched.
        return jsonschema_rs.Draft202012Validator(document, mask=VALUE_MASK, offline=True)
    except jsonschema_rs.ValidationError as error:
        where = json_pointer(error.instance_path)
        at = f" (at {where})" if where else ""
        raise ValueError(f"{path} is not a valid JSON Schema 2020-12: {error.message}{at}") from None
    except (ValueError, jsonschema_rs.ReferencingError) as error:
        raise ValueError(f"{path} is not a valid JSON Schema 2020-12: {error}") from None


@dataclass(frozen=True)
class MessageSchema:
    """A compiled message schema and the document it was compiled from."""

    document: JsonSchema
    validator: jsonschema_rs.Validator

    def check(self, value: Any, at: list[str | int] | None = None) -> None:
        """Raise a 422 problem naming where `value` (parsed with exact numbers) fails the schema.

        `at` is where `value` sits in the body (a batch's index), prefixed to the locations named.
        """
        prefix = at or []
        beyond = list(islice(numbers_beyond_double(value, prefix), MAX_LISTED_ERRORS))
        if beyond:
            # A consumer reading the body with doubles would see infinity, or fail: whatever the
            # schema says of the number, it does not hold for what they read.
            raise schema_violation(
                f"The body holds a number beyond the range of a double at '{beyond[0]}'.",
                [{"name": pointer, "reason": BEYOND_DOUBLE} for pointer in beyond],
            )
        errors = list(islice(self.validator.iter_errors(value), MAX_LISTED_ERRORS + 1))
        if not errors:
            return
        invalid = [
            {"name": json_pointer([*prefix, *error.instance_path]), "reason": _shorten(error.message)}
            for error in errors[:MAX_LISTED_ERRORS]
        ]
        first = invalid[0]
        where = f"'{first['name']}'" if first["name"] else "the root"
        more = (
            f" (the first {MAX_LISTED_ERRORS} problems are listed)" if len(errors) > MAX_LISTED_ERRORS else ""
        )
        raise schema_violation(
            f"The body does not match the message schema at {where}: {first['reason']}{more}.", invalid
        )


def numbers_beyond_double(value: Any, at: list[str | int]) -> Iterator[str]:
    """JSON Pointers of the numbers in `value` (exact: int or Decimal) whose magnitude no double holds."""
    stack: list[tuple[Any, list[str | int]]] = [(value, at)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            stack.extend((member, [*path, key]) for key, member in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((member, [*path, index]) for index, member in reversed(list(enumerate(item))))
        elif isinstance(item, int | Decimal) and not isinstance(item, bool) and _beyond_double(item):
            yield json_pointer(path)


def _beyond_double(number: int | Decimal) -> bool:
    """Whether no double holds `number` (ints and Decimals compare with floats exactly)."""
    if isinstance(number, int):
        return abs(number) > _DOUBLE_MAX
    return number.copy_abs() > Decimal(_DOUBLE_MAX)  # exact: abs() would round to the context


def _shorten(reason: str) -> str:
    """`reason`, cut to MAX_REASON_CHARS (a long property name could make it as long as the body)."""
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"


def schema_violation(detail: str, invalid_params: list[dict[str, str]]) -> ProblemError:
    """The 422 problem of a body that does not match the message schema."""
    return ProblemError(422, "schema-violation", "Schema Violation", detail, invalid_params=invalid_params)


def load_message_schema(path: Path) -> MessageSchema:
    """Read and compile the schema in `path`; ValueError (naming the file) when it is not a valid one."""
    document = _read_document(path)
    return MessageSchema(document, _compile(document, path))
