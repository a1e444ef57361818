"""JSON as RFC 8259 has it: Python's parser also takes NaN and Infinity, which are not JSON."""

import json
from typing import NoReturn


def reject_constant(name: str) -> NoReturn:
    """NaN and Infinity are accepted by Python's parser but are not JSON."""
    raise ValueError(f"{name} is not a JSON value")


def skip_number(_text: str) -> int:
    """Numbers are checked by the parser's grammar; converting them would only limit their size."""
    return 0


def is_json(text: str) -> bool:
    """Whether `text` is one JSON value (numbers are not converted, so none is too large)."""
    try:
        json.loads(text, parse_constant=reject_constant, parse_int=skip_number, parse_float=skip_number)
    except (ValueError, RecursionError):
        return False
    return True
