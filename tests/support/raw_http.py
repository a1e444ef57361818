"""Raw HTTP over a socket, for requests no client library would send: malformed heads and bodies."""

import socket
from dataclasses import dataclass


@dataclass
class RawAnswer:
    """The first answer in what a server sent: its status, headers (names lowercased) and body."""

    status: int
    headers: dict[str, str]
    body: bytes


def first_answer(received: bytes) -> RawAnswer:
    """The first answer in `received`, its body cut at its Content-Length."""
    head, _, rest = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(rest)))
    return RawAnswer(int(status_line.split(" ")[1]), headers, rest[:length])


def read_all(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def read_answer(connection: socket.socket) -> bytes:
    """One whole answer, its head and then its Content-Length of body, however the bytes arrive."""
    received = b""
    while b"\r\n\r\n" not in received or len(received) < _answer_end(received):
        chunk = connection.recv(65536)
        assert chunk, f"the connection closed within an answer: {received[:200]!r}"
        received += chunk
    return received


def _answer_end(received: bytes) -> int:
    """Where the first answer in `received` (whose head is complete) ends."""
    head_end = received.index(b"\r\n\r\n") + 4
    return head_end + int(first_answer(received).headers.get("content-length", 0))


def send_raw(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """Send `request` as it is to 127.0.0.1:`port`; all the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        return read_all(connection)
