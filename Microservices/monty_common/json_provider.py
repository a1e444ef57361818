"""Flask's JSON provider with the strict reader, so every `request.get_json` refuses what it refuses."""

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from monty_common import strict_json


class StrictJSONProvider(DefaultJSONProvider):
    """Writes JSON as Flask does; reads it with monty_common.strict_json.

    A refused body raises a 400 problem rather than ValueError, so it is answered even where the
    caller asked get_json to be silent (flask-openapi3 does, and would turn it into null).
    """

    def __init__(self, app: Flask, max_depth: int) -> None:
        """Read bodies nested at most `max_depth` levels."""
        super().__init__(app)
        self.max_depth = max_depth

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """The strict JSON value of `s`, or a 400 invalid-json problem."""
        raw = s.encode("utf-8") if isinstance(s, str) else s
        return strict_json.loads(raw, self.max_depth)
