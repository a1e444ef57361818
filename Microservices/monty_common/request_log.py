"""The access log: one JSON line per request, from logger monty.access, written once its answer is sent."""

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request

from monty_common.request_ids import ENVIRON_REQUEST_ID, StartResponse, WSGIApp

ACCESS_LOGGER = "monty.access"
# What the app tells the access log about a request: its route template and its user.
ENVIRON_ACCESS = "monty.access"
UNMATCHED_ROUTE = "unmatched"

_log = logging.getLogger(ACCESS_LOGGER)


class _CountedBody:
    """An answer's body, counted as the server sends it; `done` gets the byte count once it is closed."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        """Wrap `body`."""
        self._body = body
        self._done = done
        self._sent = 0
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        """The body's chunks, as they come."""
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk

    def close(self) -> None:
        """Close the body (the server calls this once done, or once the client has gone), then log."""
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done(self._sent)


class AccessLog:
    """WSGI middleware writing the access log line of each request."""

    def __init__(self, app: WSGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve the request, and log it once its answer is sent."""
        began = time.monotonic()
        arrived = datetime.now(UTC)
        # Inside ProxyFix when trusted proxies are set: the client's address, not the proxy's.
        client = environ.get("REMOTE_ADDR")
        status: list[int] = [500]

        def start(status_line: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            status[0] = int(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, *args)

        def done(bytes_out: int) -> None:
            app_said: dict[str, Any] = environ.get(ENVIRON_ACCESS) or {}
            _log.info(
                "request",
                extra={
                    "time": arrived.isoformat(timespec="milliseconds"),
                    "request_id": environ.get(ENVIRON_REQUEST_ID),
                    "method": environ.get("REQUEST_METHOD"),
                    "route": app_said.get("route", UNMATCHED_ROUTE),
                    "status": status[0],
                    "latency_ms": round((time.monotonic() - began) * 1000, 3),
                    "user": app_said.get("user"),
                    "client": client,
                    "bytes_in": _content_length(environ),
                    "bytes_out": bytes_out,
                },
            )

        try:
            body = self.app(environ, start)
        except BaseException:
            done(0)
            raise
        return _CountedBody(body, done)


def _content_length(environ: dict[str, Any]) -> int:
    """The request body's declared length (0 without one)."""
    try:
        return max(int(environ.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _tell_access_log(response: Response) -> Response:
    """Leave the request's route template and user (its token's sub) for the access log line."""
    principal = g.get("monty_principal")
    request.environ[ENVIRON_ACCESS] = {
        "route": request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE,
        "user": getattr(principal, "subject", None),
    }
    return response


def register_request_log(app: Flask) -> None:
    """Write an access log line for every request `app` serves."""
    app.after_request(_tell_access_log)
    app.wsgi_app = AccessLog(app.wsgi_app)  # type: ignore[method-assign]
