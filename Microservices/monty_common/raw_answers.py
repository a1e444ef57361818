"""Whole HTTP responses the server writes itself, before or instead of the app: problem+json."""

import json

from gunicorn.http.errors import (
    ExpectationFailed,
    ForbiddenProxyRequest,
    LimitRequestHeaders,
    LimitRequestLine,
    ParseException,
    UnsupportedTransferCoding,
)

from monty_common.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_PREFIX

# The parser's refusals that are not a plain 400, as gunicorn itself answers them.
_STATUS: list[tuple[type[ParseException], int, str]] = [
    (LimitRequestLine, 414, "URI Too Long"),
    (LimitRequestHeaders, 431, "Request Header Fields Too Large"),
    (UnsupportedTransferCoding, 501, "Not Implemented"),
    (ExpectationFailed, 417, "Expectation Failed"),
    (ForbiddenProxyRequest, 403, "Forbidden"),
]


def refusal(error: ParseException) -> bytes:
    """The whole HTTP response refusing a request that could not be parsed."""
    status, title = next(((s, t) for kind, s, t in _STATUS if isinstance(error, kind)), (400, "Bad Request"))
    return problem_answer(
        status,
        title,
        "unparsable-request",
        f"The HTTP request was refused before reaching the service: {error}",
    )


def problem_answer(status: int, title: str, slug: str, detail: str) -> bytes:
    """A whole HTTP response carrying a problem, closing the connection."""
    body = json.dumps(
        {"type": PROBLEM_TYPE_PREFIX + slug, "title": title, "status": status, "detail": detail[:300]}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {title}\r\nConnection: close\r\nContent-Type: {PROBLEM_MEDIA_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body
