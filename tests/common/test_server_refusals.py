"""Requests the HTTP server refuses before any app sees them are answered in problem+json too."""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from support.problems import assert_problem
from support.processes import ServiceProcess, start_service


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
