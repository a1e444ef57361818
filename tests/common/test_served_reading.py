"""The server's event loop reads requests whole: HTTP still works as clients use it, and a client
too slow to send its request is answered 408 and closed."""

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.log_records import logged_with_id
from support.processes import ServiceProcess, start_service
from support.raw_http import first_answer, read_all, read_answer, send_raw

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
HEALTH = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The auth service (no broker, no database needed) with short read timeouts."""
    data: Path = tmp_path_factory.mktemp("auth")
    settings = {"MONTY_DATA_DIR": str(data), "MONTY_HEADER_TIMEOUT": "1", "MONTY_BODY_TIMEOUT": "1"}
    live = start_service("Microservices/AuthMicroservice/app.py", settings, data / "auth.log")
    try:
        live.wait_healthy()
        yield live
    finally:
        live.stop()


def test_pipelined_requests_are_answered_in_order(server: ServiceProcess) -> None:
    """Requests sent together on one connection are each answered, in order."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(HEALTH * 2 + b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers = read_all(connection)
    assert answers.count(b"HTTP/1.1 200 ") == 2
    assert answers.rindex(b"HTTP/1.1 404 ") > answers.rindex(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(
    "framing",
    [b'Content-Length: 8\r\n\r\n{"a": 1}', b'Transfer-Encoding: chunked\r\n\r\n8\r\n{"a": 1}\r\n0\r\n\r\n'],
    ids=["content-length", "chunked"],
)
def test_a_body_the_app_did_not_read_is_skipped(server: ServiceProcess, framing: bytes) -> None:
    """A request answered without its body being read (here a 404) keeps its connection: the next
    request on it is answered, the body not taken for its start."""
    unread = b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + framing
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(unread)
        first = read_answer(connection)
        assert first.startswith(b"HTTP/1.1 404 "), first[:200]
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        second = read_all(connection)
    assert second.startswith(b"HTTP/1.1 200 "), second[:200]


def test_a_request_sent_in_pieces_is_served(server: ServiceProcess) -> None:
    """A head and body split over several sends are put together before the service sees them."""
    body = b'{"username": "ann", "password": "wrong"}'
    head = (
        b"POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        for piece in (head[:10], head[10:], body[:5], body[5:]):
            connection.sendall(piece)
        answer = read_all(connection)
    # The user service is not running: the login got as far as asking it.
    assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]


def test_100_continue_is_answered_before_the_body(server: ServiceProcess) -> None:
    """A client that waits for 100 Continue gets it, then the answer once the body is sent."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(
            b"POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\nContent-Length: 2\r\n\r\n"
        )
        assert connection.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        connection.sendall(b"[]")
        answer = read_all(connection)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"100 Continue" not in answer


@pytest.mark.parametrize(
    "partial",
    [b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"POST /auth/token HTTP/1.1\r\nContent-Length: 9\r\n\r\n{"],
    ids=["head", "body"],
)
def test_a_request_that_does_not_arrive_in_time_is_408_and_closed(
    server: ServiceProcess, partial: bytes
) -> None:
    """Past MONTY_HEADER_TIMEOUT (or MONTY_BODY_TIMEOUT) the server answers 408 in problem+json and closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(partial)
        answer = read_all(connection)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"urn:monty:problem:request-timeout"' in answer
    # A request id of its own (the head, if any, is not trusted for one), in the log line too.
    request_id = first_answer(answer).headers["x-request-id"]
    assert GENERATED_ID.fullmatch(request_id)
    [line] = logged_with_id(server, request_id)
    assert line["status"] == 408


@pytest.mark.parametrize("size_line", [b"8zz", b"8 zz", b"8 ", b"8;"])
def test_a_malformed_chunk_size_is_400_at_once(server: ServiceProcess, size_line: bytes) -> None:
    """A chunk-size line that is not hex digits and extensions is refused at once (400), not waited on
    for a chunk that never comes (408), even when it starts with a hex digit."""
    request = (
        b"POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + size_line + b"\r\n"
    )
    answer = first_answer(send_raw(server.port, request))
    assert answer.status != 408
    assert answer.status == 400, answer
    assert json.loads(answer.body)["type"] == "urn:monty:problem:malformed-body"


def test_an_unread_body_found_malformed_after_the_answer_closes_the_connection(
    server: ServiceProcess,
) -> None:
    """A request answered without its body being read (a 404) whose chunked body then proves malformed
    (a trailer line without a colon) gets that one answer and the connection closes: no second answer,
    which the client would take for the answer to its next request."""
    request = (
        b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nNo colon here\r\n\r\n"
    )
    received = send_raw(server.port, request)
    assert received.startswith(b"HTTP/1.1 404 ")
    assert received.count(b"HTTP/1.1 ") == 1, received
