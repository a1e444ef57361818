"""Reading a batch: one JSON array whose elements are the messages, each kept as its exact bytes."""

import json
import re
from dataclasses import dataclass

from flask import Request

from exchange_service.json_body import bad_body, read_declared_json
from monty_common.json_walk import locate
from monty_common.problems import ProblemError
from monty_common.strict_json import (
    DuplicateKey,
    check_pairs,
    invalid_json,
    nesting_exceeds,
    reject_constant,
    skip_number,
)

_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Finds where each element ends without converting numbers (none is too large to publish).
# Objects are only checked for duplicate keys, never kept: validating needs no values.
_DECODER = json.JSONDecoder(
    parse_constant=reject_constant,
    parse_int=skip_number,
    parse_float=skip_number,
    object_pairs_hook=check_pairs,
)


@dataclass(frozen=True)
class BatchLimits:
    """How large a batch may be."""

    body_bytes: int
    messages: int
    message_bytes: int
    # How deep each message may nest (the array around them is one more level).
    max_depth: int


def _invalid(text: str, at: int, why: str) -> ProblemError:
    """A 400 problem saying where the batch stops being a JSON array of values."""
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return bad_body(
        "invalid-json",
        "Invalid JSON",
        f"The body is not a JSON array of messages: {why} at line {line}, column {column}.",
    )


def _skip_whitespace(text: str, at: int) -> int:
    """The index of the first character at or after `at` that is not JSON whitespace."""
    match = _WHITESPACE.match(text, at)
    return match.end() if match else at


def split_array(text: str, limits: BatchLimits) -> list[tuple[int, int]]:
    """Where each element of the JSON array `text` starts and ends; 400 or 413 problems when it is not one."""
    ascii_only = text.isascii()  # then a character is a byte, and sizes need no encoding
    at = _skip_whitespace(text, 0)
    if not text.startswith("[", at):
        raise bad_body("not-an-array", "Not An Array", "The body must be a JSON array of messages.")
    at = _skip_whitespace(text, at + 1)
    if text.startswith("]", at):
        raise bad_body("empty-batch", "Empty Batch", "The array holds no message; send one to publish.")
    elements: list[tuple[int, int]] = []
    while True:
        if len(elements) == limits.messages:
            raise ProblemError(
                413,
                "batch-too-large",
                "Batch Too Large",
                f"A batch holds at most {limits.messages} messages (MONTY_MAX_BATCH_MESSAGES).",
            )
        try:
            _value, end = _DECODER.raw_decode(text, at)
        except DuplicateKey:
            raise _strict_break(text, limits, "The batch holds an object with a key twice") from None
        except json.JSONDecodeError as error:
            raise _invalid(text, error.pos, error.msg) from None
        except ValueError as error:
            raise _invalid(text, at, str(error)) from None
        except RecursionError:
            raise _invalid(text, at, "nested too deeply") from None
        size = end - at if ascii_only else len(text[at:end].encode())
        if size > limits.message_bytes:
            raise ProblemError(
                413,
                "message-too-large",
                "Message Too Large",
                f"Message {len(elements)} is over {limits.message_bytes} bytes (MONTY_MAX_BODY_BYTES).",
            )
        elements.append((at, end))
        at = _skip_whitespace(text, end)
        if text.startswith(",", at):
            at = _skip_whitespace(text, at + 1)
        elif text.startswith("]", at):
            break
        else:
            raise _invalid(text, at, "expected ',' or ']'")
    if _skip_whitespace(text, at + 1) != len(text):
        raise _invalid(text, _skip_whitespace(text, at + 1), "extra data after the array")
    return elements


def _strict_break(text: str, limits: BatchLimits, detail: str) -> ProblemError:
    """The 400 problem of a batch breaking a strict JSON rule, naming where (/<index>/...)."""
    where = locate(text, limits.max_depth + 1)
    if where is None:
        return invalid_json(f"{detail}.")
    return invalid_json(f"{detail} (at {where[0]!r}).", where[0], where[1])


def read_json_batch(request: Request, limits: BatchLimits) -> list[bytes]:
    """The messages of a batch request, each as the exact bytes it was sent as."""
    raw = read_declared_json(request, limits.body_bytes)
    if nesting_exceeds(raw, limits.max_depth + 1):
        raise _strict_break(
            raw.decode("utf-8", "replace"),
            limits,
            f"A message of the batch is nested too deeply (more than {limits.max_depth} levels)",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise bad_body(
            "invalid-json", "Invalid JSON", f"The body is not UTF-8 (byte {error.start})."
        ) from None
    spans = split_array(text, limits)
    if len(text) == len(raw):
        # ASCII: the elements are slices of the body itself, cut once the text is let go.
        del text
        return [raw[start:end] for start, end in spans]
    return [text[start:end].encode() for start, end in spans]
