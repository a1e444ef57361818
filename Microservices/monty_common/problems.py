"""RFC 9457 problem details: the one error shape of every MontyExchange API."""

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, json
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import HTTPException

from monty_common.parse_errors import describe

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:monty:problem:"

log = logging.getLogger(__name__)


class ProblemError(Exception):
    """An error answered to the client as problem+json."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        """Describe the problem; `slug` names its type, `extensions` add members to the body."""
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions


def problem_response(
    status: int,
    title: str,
    detail: str,
    problem_type: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response:
    """Build a problem+json response."""
    body: dict[str, Any] = {"type": problem_type, "title": title, "status": status, "detail": detail}
    body.update(extensions or {})
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


def _render_problem(error: ProblemError) -> Response:
    """Render a ProblemError raised by a view or a service function."""
    return problem_response(
        error.status,
        error.title,
        error.detail,
        PROBLEM_TYPE_PREFIX + error.slug,
        error.headers,
        error.extensions,
    )


def _render_http_exception(error: HTTPException) -> Response:
    """Render Werkzeug's HTTP errors (404, 405, 413, ...) in the same shape."""
    status = error.code or 500
    # Keep headers such as Allow (405); the body is ours.
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return problem_response(status, error.name, error.description or error.name, headers=headers)


def _render_unexpected(error: Exception) -> Response:
    """Log a fault with its stack trace and answer 500 without one."""
    if isinstance(error, HTTPException):
        return _render_http_exception(error)
    log.exception("unhandled error")
    return problem_response(500, "Internal Server Error", "The server met an unexpected error.")


def _render_broken_body(error: ParseException) -> Response:
    """The server's reader found the body's framing broken (a bad chunk, a body cut short)."""
    # The error's kind only: gunicorn's message quotes the broken bytes, a password or a message body.
    log.info("malformed request body: %s", describe(error), extra={"request_id": g.get("request_id")})
    return problem_response(
        400,
        "Malformed Body",
        "The request body's framing is broken (a bad chunk size or end, or a body cut short).",
        PROBLEM_TYPE_PREFIX + "malformed-body",
    )


def register_problem_handlers(app: Flask) -> None:
    """Route every error of `app` through problem+json."""
    app.register_error_handler(ProblemError, _render_problem)
    # Raised from wsgi.input while a view reads the body: the client's mistake, not a fault.
    app.register_error_handler(ParseException, _render_broken_body)
    app.register_error_handler(HTTPException, _render_http_exception)
    app.register_error_handler(Exception, _render_unexpected)
