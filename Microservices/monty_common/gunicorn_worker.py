"""gunicorn's threaded worker, answering the requests its HTTP parser refuses in problem+json too."""

import json
from typing import Any

from gunicorn import util
from gunicorn.http.errors import (
    ConfigurationProblem,
    ExpectationFailed,
    ForbiddenProxyRequest,
    InvalidResponseHeader,
    InvalidResponseHeaderName,
    LimitRequestHeaders,
    LimitRequestLine,
    ParseException,
    UnsupportedTransferCoding,
)
from gunicorn.workers.gthread import ThreadWorker

from monty_common.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_PREFIX

# The parser's refusals that are not a plain 400, as gunicorn itself answers them.
_STATUS: list[tuple[type[ParseException], int, str]] = [
    (LimitRequestLine, 414, "URI Too Long"),
    (LimitRequestHeaders, 431, "Request Header Fields Too Large"),
    (UnsupportedTransferCoding, 501, "Not Implemented"),
    (ExpectationFailed, 417, "Expectation Failed"),
    (ForbiddenProxyRequest, 403, "Forbidden"),
]
# Faults of the server or the application, which gunicorn's own handling logs as errors.
_NOT_THE_CLIENTS = (ConfigurationProblem, InvalidResponseHeader, InvalidResponseHeaderName)


def refusal(error: ParseException) -> bytes:
    """The whole HTTP response refusing a request that could not be parsed."""
    status, title = next(((s, t) for kind, s, t in _STATUS if isinstance(error, kind)), (400, "Bad Request"))
    body = json.dumps(
        {
            "type": PROBLEM_TYPE_PREFIX + "unparsable-request",
            "title": title,
            "status": status,
            "detail": f"The HTTP request was refused before reaching the service: {error}"[:300],
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {title}\r\nConnection: close\r\nContent-Type: {PROBLEM_MEDIA_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class ProblemThreadWorker(ThreadWorker):  # type: ignore[misc]
    """The gthread worker; a request its parser refuses gets problem+json instead of an HTML page."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Refuse an unparsable request in problem+json; leave everything else to gunicorn."""
        if not isinstance(exc, ParseException) or isinstance(exc, _NOT_THE_CLIENTS):
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, refusal(exc))
        except OSError:
            self.log.debug("could not answer the refused request")
