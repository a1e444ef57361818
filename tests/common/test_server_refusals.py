"""Requests the HTTP server refuses before any app sees them are answered in problem+json too."""

import json
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from support.log_records import logged_with_id
from support.problems import assert_problem
from support.processes import ServiceProcess, start_service
from support.raw_http import first_answer, send_raw

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The auth service (it needs no broker and no database) served as users serve it."""
    data: Path = tmp_path_factory.mktemp("auth")
    live = start_service(
        "Microservices/AuthMicroservice/app.py", {"MONTY_DATA_DIR": str(data)}, data / "auth.log"
    )
    try:
        live.wait_healthy()
        yield live
    finally:
        live.stop()


def test_a_request_line_over_the_limit_is_414_problem(server: ServiceProcess) -> None:
    """A query longer than the server reads is 414 in problem+json, not the server's HTML page."""
    answer = requests.get(server.url + "/.well-known/jwks.json", params={"q": "x" * 9000}, timeout=10)
    assert_problem(answer, 414, "unparsable-request")


def test_headers_over_the_limit_are_431_problem(server: ServiceProcess) -> None:
    """Too large a header is 431 in problem+json."""
    answer = requests.get(server.url + "/healthz", headers={"X-Big": "y" * 20000}, timeout=10)
    assert_problem(answer, 431, "unparsable-request")


def test_a_malformed_request_is_400_problem(server: ServiceProcess) -> None:
    """A request line that is not HTTP is 400 in problem+json."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        raw = b""
        while chunk := connection.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"Content-Type: application/problem+json" in head
    assert b'"urn:monty:problem:unparsable-request"' in body


# Requests the parser refuses, each quoting what could be a secret where gunicorn's message quotes it.
REFUSED = {
    "header line without a colon": (b"Authorization Bearer {secret}\r\n", 400, "InvalidHeader"),
    "invalid header name": (b"X({secret}): y\r\n", 400, "InvalidHeaderName"),
    "control character in a value": (b"Authorization: Bearer {secret}\x01\r\n", 400, "InvalidHeader"),
    "unknown transfer coding": (b"Transfer-Encoding: x{secret}\r\n", 501, "UnsupportedTransferCoding"),
    "unknown expectation": (b"Expect: {secret}\r\n", 417, "ExpectationFailed"),
    "header over the limit": (b"X-Big: {secret}" + b"y" * 9000 + b"\r\n", 431, "LimitRequestHeaders"),
    "head over 64 KiB": (b"X-Big: {secret}\r\n" * 2000, 431, "LimitRequestHeaders"),
}


@pytest.mark.parametrize("header", list(REFUSED), ids=list(REFUSED))
def test_a_refused_request_has_an_id_and_neither_answer_nor_log_quotes_it(
    server: ServiceProcess, header: str
) -> None:
    """A request refused before any app sees it gets a generated X-Request-Id (its own is not trusted:
    its head did not parse), and the log line about it carries that id and names the error's kind,
    never the request's bytes (here standing for a bearer token)."""
    line, status, kind = REFUSED[header]
    secret = f"eyJ.secret-{uuid.uuid4().hex}"
    request = (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: mine\r\n"
        + line.replace(b"{secret}", secret.encode())
        + b"\r\n"
    )
    answer = first_answer(send_raw(server.port, request))
    assert answer.status == status
    assert json.loads(answer.body)["type"] == "urn:monty:problem:unparsable-request"
    request_id = answer.headers["x-request-id"]
    assert GENERATED_ID.fullmatch(request_id)
    assert secret.encode() not in answer.body
    [logged] = logged_with_id(server, request_id)
    assert (logged["level"], logged["status"]) == ("WARNING", status)
    assert kind in logged["message"]
    assert secret not in server.output()


@pytest.mark.parametrize(
    "request_line",
    [b"G(T /healthz HTTP/1.1", b"GET /healthz HTTP/9.{secret}", b"GET /x?{secret} HTTP/1.1 extra"],
    ids=["method", "version", "request-line"],
)
def test_a_refused_request_line_is_not_quoted(server: ServiceProcess, request_line: bytes) -> None:
    """A malformed request line is refused (400) under a generated id; its text is in no log line."""
    secret = f"secret-{uuid.uuid4().hex}"
    request = (
        request_line.replace(b"{secret}", secret.encode()) + b"\r\nHost: " + secret.encode() + b"\r\n\r\n"
    )
    answer = first_answer(send_raw(server.port, request))
    assert answer.status == 400
    assert GENERATED_ID.fullmatch(answer.headers["x-request-id"])
    logged_with_id(server, answer.headers["x-request-id"])
    assert secret not in server.output()
