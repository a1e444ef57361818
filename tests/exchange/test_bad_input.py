"""Bad requests get a clear problem+json answer and change nothing."""

import socket
import time

import pytest
from flask.testing import FlaskClient

from support.broker_admin import queue_depth
from support.names import Names
from support.problems import assert_problem
from support.processes import ServiceProcess
from support.tokens import TestKeys


@pytest.mark.parametrize(
    ("raw", "detail_part"),
    [
        (b"not json", "not valid JSON"),
        (b'{"a": 1', "not valid JSON"),
        (b'{"a": 1} {"b": 2}', "Extra data"),
        (b"[NaN]", "NaN is not a JSON value"),
        (b'{"x": Infinity}', "Infinity is not a JSON value"),
        (b'"\xff\xfe"', "not UTF-8"),
        (b"\xef\xbb\xbf{}", "BOM"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"", "empty"),
        (b"  \n ", "empty"),
    ],
    ids=["text", "truncated", "two-documents", "nan", "infinity", "latin1", "bom", "deep", "empty", "blank"],
)
def test_invalid_json_is_400_naming_the_problem(
    client: FlaskClient, amqp_url: str, names: Names, raw: bytes, detail_part: str
) -> None:
    """Each kind of invalid body is refused with a detail that says what is wrong; nothing is published."""
    client.get("/Consume")  # declares the queue, so its depth can be read
    body = assert_problem(client.post("/Message", data=raw, content_type="application/json"), 400)
    assert detail_part in str(body["detail"])
    assert queue_depth(amqp_url, names.queue) == 0


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
        "application/json; charset=latin-1",
    ],
)
def test_wrong_content_type_is_415(
    client: FlaskClient, amqp_url: str, names: Names, content_type: str | None
) -> None:
    """The body must be declared application/json (UTF-8); the detail names the header."""
    client.get("/Consume")
    body = assert_problem(client.post("/Message", data=b'{"a": 1}', content_type=content_type), 415)
    assert "Content-Type" in str(body["detail"]) or "UTF-8" in str(body["detail"])
    assert queue_depth(amqp_url, names.queue) == 0


def test_charset_utf8_is_accepted(client: FlaskClient) -> None:
    """application/json; charset=utf-8 is JSON."""
    response = client.post("/Message", data=b'{"a": 1}', content_type="application/json; charset=UTF-8")
    assert response.status_code == 200


def test_body_over_the_limit_is_413(make_app, amqp_url: str, names: Names) -> None:  # type: ignore[no-untyped-def]
    """The limit is configurable; a larger body is refused and nothing is published."""
    client = make_app(max_body_bytes=100).test_client()
    client.get("/Consume")
    assert (
        client.post("/Message", data=b'"' + b"x" * 98 + b'"', content_type="application/json").status_code
        == 200
    )
    assert_problem(
        client.post("/Message", data=b'"' + b"x" * 99 + b'"', content_type="application/json"), 413
    )
    assert queue_depth(amqp_url, names.queue) == 1


def test_default_limit_is_one_mebibyte(client: FlaskClient) -> None:
    """1 MiB passes, one byte more does not."""
    limit = 1024 * 1024
    fits = b'"' + b"x" * (limit - 2) + b'"'
    assert client.post("/Message", data=fits, content_type="application/json").status_code == 200
    assert_problem(client.post("/Message", data=fits + b" ", content_type="application/json"), 413)


def _read_status_line(sock: socket.socket) -> str:
    """Read the response's status line."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def test_oversized_body_is_refused_before_it_is_sent(
    live_exchange: ServiceProcess, test_keys: TestKeys
) -> None:
    """A Content-Length over the limit is answered 413 while the client has sent none of the body."""
    with socket.create_connection(("127.0.0.1", live_exchange.port), timeout=10) as sock:
        sock.sendall(
            b"POST /Message HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + _authorization(test_keys)
            + b"Content-Length: 1073741824\r\n\r\n"
        )
        assert _read_status_line(sock).startswith("HTTP/1.1 413")


def _authorization(test_keys: TestKeys) -> bytes:
    """An Authorization header line of a producer."""
    return f"Authorization: Bearer {test_keys.token('producer-user', ['producer'])}\r\n".encode()


def _send_chunked(sock: socket.socket, body: bytes, terminate: bool, test_keys: TestKeys) -> None:
    """POST `body` to /Message in 64 KiB chunks, ending the body only if `terminate`."""
    sock.sendall(
        b"POST /Message HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + _authorization(test_keys)
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    for start in range(0, len(body), 64 * 1024):
        chunk = body[start : start + 64 * 1024]
        sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    if terminate:
        sock.sendall(b"0\r\n\r\n")


def test_oversized_chunked_body_is_refused_at_the_limit(
    live_exchange: ServiceProcess, test_keys: TestKeys
) -> None:
    """A chunked body is read only up to the limit: 413 comes while the body is still open."""
    with socket.create_connection(("127.0.0.1", live_exchange.port), timeout=10) as sock:
        _send_chunked(sock, b"1" * (1024 * 1024 + 64 * 1024), False, test_keys)
        assert _read_status_line(sock).startswith("HTTP/1.1 413")


@pytest.mark.parametrize(("size", "status"), [(1024 * 1024, "200"), (1024 * 1024 + 1, "413")])
def test_chunked_body_limit_is_exact(
    live_exchange: ServiceProcess, test_keys: TestKeys, size: int, status: str
) -> None:
    """A chunked number of exactly 1 MiB is published whole; one digit more is refused, not cut."""
    with socket.create_connection(("127.0.0.1", live_exchange.port), timeout=10) as sock:
        _send_chunked(sock, b"1" * size, True, test_keys)
        assert _read_status_line(sock).startswith(f"HTTP/1.1 {status}")


def test_chunked_body_over_the_limit_by_a_late_chunk_end_is_413(
    live_exchange: ServiceProcess, test_keys: TestKeys
) -> None:
    """The byte past the limit arrives, but its chunk's end is late: the server read ahead only up to
    that byte, and the body is still refused 413 (not a parse error of its cut end)."""
    with socket.create_connection(("127.0.0.1", live_exchange.port), timeout=10) as sock:
        _send_chunked(sock, b"1" * (1024 * 1024), False, test_keys)
        sock.sendall(b"1\r\n1")
        time.sleep(0.5)  # the server reads what it has: the chunk's CRLF is still on its way
        sock.sendall(b"\r\n0\r\n\r\n")
        assert _read_status_line(sock).startswith("HTTP/1.1 413")


@pytest.mark.parametrize(
    "body",
    [b"5\r\nhelloXX0\r\n\r\n", b"zz\r\nhello\r\n0\r\n\r\n"],
    ids=["no-chunk-end", "bad-size"],
)
def test_malformed_chunked_body_is_400_problem(
    live_exchange: ServiceProcess, test_keys: TestKeys, body: bytes
) -> None:
    """A chunked body that breaks its framing is the client's mistake: 400 problem+json, not 500."""
    with socket.create_connection(("127.0.0.1", live_exchange.port), timeout=10) as sock:
        sock.sendall(
            b"POST /Message HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + _authorization(test_keys)
            + b"Transfer-Encoding: chunked\r\n\r\n"
            + body
        )
        status = _read_status_line(sock)
        assert status.startswith("HTTP/1.1 400"), status


def test_unknown_route_is_404_problem(client: FlaskClient) -> None:
    """Routes that do not exist answer in the same format."""
    assert_problem(client.get("/Messages/nope"), 404)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/Message"), ("DELETE", "/Message"), ("POST", "/Consume")]
)
def test_wrong_method_is_405_problem_with_allow(client: FlaskClient, method: str, path: str) -> None:
    """A known route with the wrong method says which methods it allows."""
    response = client.open(path, method=method)
    assert_problem(response, 405)
    assert response.headers["Allow"]


def test_unexpected_error_is_500_problem_without_a_trace(make_app) -> None:  # type: ignore[no-untyped-def]
    """A bug answers 500 problem+json; the stack trace goes to the log, not to the client."""
    app = make_app()

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    body = assert_problem(response, 500)
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" not in str(body)
