"""Checking that an answer is an RFC 9457 problem, for Flask test responses and `requests` alike."""

import json
from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:monty:problem:"


def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """`response` is a problem+json of `status` (of type urn:monty:problem:<slug> when given); its body."""
    text = response.get_data(as_text=True) if hasattr(response, "get_data") else response.text
    assert response.status_code == status, text
    assert response.headers["Content-Type"] == PROBLEM_MEDIA_TYPE, text
    body: dict[str, Any] = json.loads(text)
    assert body["status"] == status, body
    for member in ("type", "title", "detail"):
        assert isinstance(body[member], str), body
        assert body[member], body
    if slug is not None:
        assert body["type"] == PROBLEM_TYPE_PREFIX + slug, body
    return body
