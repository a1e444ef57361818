"""Request ids: each request's own (the client's X-Request-Id when valid, else a new one), answered in
X-Request-Id, and carried with a W3C traceparent into the messages the request publishes."""

import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-Id"
TRACEPARENT_HEADER = "traceparent"
# The AMQP headers of a published message holding them (monty-: reserved for the gateway).
MESSAGE_REQUEST_ID = "monty-request-id"
MESSAGE_TRACEPARENT = "traceparent"
REQUEST_ID_MAX = 128
REQUEST_ID_PATTERN = rf"[A-Za-z0-9._:@/+=-]{{1,{REQUEST_ID_MAX}}}"
TRACEPARENT_PATTERN = r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}"

_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
_TRACEPARENT = re.compile(TRACEPARENT_PATTERN)
# Where the WSGI layer keeps them for the app and the access log.
ENVIRON_REQUEST_ID = "monty.request_id"
ENVIRON_TRACEPARENT = "monty.traceparent"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def new_request_id() -> str:
    """A request id the gateway makes up: a UUID4 in 32 hex digits."""
    return uuid.uuid4().hex


def valid_request_id(value: object) -> str | None:
    """`value` if it is a request id the gateway accepts, else None."""
    return value if isinstance(value, str) and _REQUEST_ID.fullmatch(value) else None


def valid_traceparent(value: object) -> str | None:
    """`value` if it is a W3C traceparent of version 00, else None (also when its trace id or parent
    id is all zeros, which W3C Trace Context declares invalid)."""
    if not isinstance(value, str) or not _TRACEPARENT.fullmatch(value):
        return None
    _version, trace_id, parent_id, _flags = value.split("-")
    return None if not trace_id.strip("0") or not parent_id.strip("0") else value


class RequestIds:
    """WSGI middleware: gives every request an id before the app sees it, and every answer (errors
    included) the X-Request-Id header."""

    def __init__(self, app: WSGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve the request under its id."""
        request_id = valid_request_id(environ.get("HTTP_X_REQUEST_ID")) or new_request_id()
        environ[ENVIRON_REQUEST_ID] = request_id
        environ[ENVIRON_TRACEPARENT] = valid_traceparent(environ.get("HTTP_TRACEPARENT"))

        def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            kept = [(name, value) for name, value in headers if name.lower() != REQUEST_ID_HEADER.lower()]
            return start_response(status, [*kept, (REQUEST_ID_HEADER, request_id)], *args)

        return self.app(environ, start)


def _remember_ids() -> None:
    """Put the request's ids where views find them: g.request_id and g.traceparent."""
    g.request_id = request.environ.get(ENVIRON_REQUEST_ID) or new_request_id()
    g.traceparent = request.environ.get(ENVIRON_TRACEPARENT)


def register_request_ids(app: Flask) -> None:
    """Give every request of `app` an id (see RequestIds), known to views before anything else runs."""
    app.wsgi_app = RequestIds(app.wsgi_app)  # type: ignore[method-assign]
    app.before_request_funcs.setdefault(None, []).insert(0, _remember_ids)


def message_trace_headers() -> dict[str, str]:
    """The AMQP headers tying a message to the request publishing it ({} outside a request)."""
    if not has_request_context() or "request_id" not in g:
        return {}
    headers = {MESSAGE_REQUEST_ID: str(g.request_id)}
    if g.get("traceparent"):
        headers[MESSAGE_TRACEPARENT] = str(g.traceparent)
    return headers


def forwarded_request_id() -> dict[str, str]:
    """The X-Request-Id header carrying the current request's id to another service ({} outside a request)."""
    if not has_request_context() or "request_id" not in g:
        return {}
    return {REQUEST_ID_HEADER: str(g.request_id)}
