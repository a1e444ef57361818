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

from monty_common.parse_errors import describe
from monty_common.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_PREFIX
from monty_common.request_ids import REQUEST_ID_HEADER

# The parser's refusals that are not a plain 400, as gunicorn itself answers them.
_STATUS: list[tuple[type[ParseException], int, str]] = [
    (LimitRequestLine, 414, "URI Too Long"),
    (LimitRequestHeaders, 431, "Request Header Fields Too Large"),
    (UnsupportedTransferCoding, 501, "Not Implemented"),
    (ExpectationFailed, 417, "Expectation Failed"),
    (ForbiddenProxyRequest, 403, "Forbidden"),
]


def refusal_status(error: ParseException) -> tuple[int, str]:
    """The status and reason phrase refusing a request the parser raised `error` for."""
    return next(((s, t) for kind, s, t in _STATUS if isinstance(error, kind)), (400, "Bad Request"))


def refusal(error: ParseException, request_id: str) -> bytes:
    """The whole HTTP response refusing a request that could not be parsed (it names the error's kind,
    never quotes the request)."""
    status, title = refusal_status(error)
    return problem_answer(
        status,
        title,
        "unparsable-request",
        f"The HTTP request was refused before reaching the service ({describe(error)}).",
        request_id,
    )


def problem_answer(status: int, title: str, slug: str, detail: str, request_id: str) -> bytes:
    """A whole HTTP response carrying a problem and the request's id, closing the connection."""
    body = json.dumps(
        {"type": PROBLEM_TYPE_PREFIX + slug, "title": title, "status": status, "detail": detail[:300]}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {title}\r\nConnection: close\r\nContent-Type: {PROBLEM_MEDIA_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n{REQUEST_ID_HEADER}: {request_id}\r\n\r\n"
    )
    return head.encode("latin-1") + body
