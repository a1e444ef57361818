"""When a request read by the server's event loop is whole, and what its framing says (no sockets)."""

import pytest
from gunicorn.http.body import ChunkedReader
from gunicorn.http.errors import ParseException
from gunicorn.http.unreader import IterUnreader

from monty_common.request_reading import MAX_HEAD_BYTES, PendingRequest, ReadLimits, Step

LIMITS = ReadLimits(header_timeout=5, body_timeout=30, max_body_bytes=100, buffer_bytes=1 << 20)


def pending(data: bytes = b"") -> PendingRequest:
    """A request read from `data`, at time 0."""
    return PendingRequest(data, LIMITS, now=0.0)


def test_a_head_arriving_in_pieces_is_ready_once_it_ends() -> None:
    """Half a head needs more, within the header timeout; the empty line completes it."""
    request = pending()
    assert request.feed(b"GET / HTTP/1.1\r\nHost: x\r\n", 1.0) is Step.MORE
    assert request.deadline == 5.0
    assert request.feed(b"\r\n", 2.0) is Step.READY
    assert not request.must_close


def test_a_body_is_awaited_to_its_length_within_the_body_timeout() -> None:
    """Content-Length bytes must follow the head; the body timeout starts when the head is in."""
    request = pending(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab")
    assert request.step(1.0) is Step.MORE
    assert request.deadline == 31.0
    assert request.feed(b"cde", 2.0) is Step.READY


def test_a_chunked_body_is_awaited_to_its_last_chunk_and_trailers() -> None:
    """The chunked framing is followed without decoding, through extensions and trailers."""
    request = pending(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n")
    assert request.step(0.0) is Step.MORE
    assert request.feed(b"0\r\nTrailer: 1\r\n", 0.0) is Step.MORE
    assert request.feed(b"\r\n", 0.0) is Step.READY
    assert not request.must_close


# Chunk-size lines (RFC 9112 7.1): the size in hex digits, then extensions, BWS only before a ";".
CHUNK_SIZE_LINES = [
    (b"8", True),
    (b"0008", True),
    (b"8;name=value", True),
    (b'8 ; name = "quoted value";flag', True),
    (b"8zz", False),
    (b"8 zz", False),
    (b" 8", False),
    (b"8 ", False),
    (b"8;", False),
    (b"8;name value", False),
    (b"8\rx", False),
    (b"", False),
    (b'username": "someone"', False),
]


@pytest.mark.parametrize(
    ("line", "valid"), CHUNK_SIZE_LINES, ids=[repr(line) for line, _ in CHUNK_SIZE_LINES]
)
def test_a_chunk_size_line_is_read_as_the_parser_reads_it(line: bytes, valid: bool) -> None:
    """A valid size line (extensions included) is followed to its chunk's end; any other goes on to the
    parser at once, which refuses it, instead of waiting out the body timeout for a chunk that never
    ends (a malformed line that starts with a hex digit, `8zz`, included). gunicorn's parser agrees."""
    request = pending(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + line + b"\r\n")
    assert request.step(0) is (Step.MORE if valid else Step.READY)
    assert request.must_close is not valid
    reader = ChunkedReader(None, IterUnreader([line + b"\r\n12345678\r\n0\r\n\r\n"]))
    if valid:
        assert reader.read(100) == b"12345678"
    else:
        with pytest.raises(ParseException):
            reader.read(100)


def test_100_continue_is_wanted_only_when_a_body_follows() -> None:
    """Expect: 100-continue is answered by the event loop only for a body it waits for."""
    assert (
        pending(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n").step(0) is Step.MORE
    )
    with_body = pending(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
    with_body.step(0)
    assert with_body.wants_continue
    without = pending(b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n")
    assert without.step(0) is Step.READY
    assert not without.wants_continue


@pytest.mark.parametrize(
    "head",
    [
        b"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    ],
    ids=["over-the-limit", "two-lengths", "negative", "not-chunked"],
)
def test_a_body_not_read_ahead_goes_on_at_once_and_closes_the_connection(head: bytes) -> None:
    """Too large or oddly framed: the app (or gunicorn's parser) refuses it from its head alone."""
    request = pending(head)
    assert request.step(0) is Step.READY
    assert request.must_close


def test_a_chunked_body_over_the_limit_goes_on_once_it_passes_it() -> None:
    """The app sees more than it takes, refuses it, and the connection closes."""
    request = pending(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n" + b"x" * 101)
    assert request.step(0) is Step.READY
    assert request.must_close


def test_heads_the_parser_refuses_go_on_at_once_and_an_endless_head_is_refused() -> None:
    """A bare LF or an overlong request line is for gunicorn's parser to refuse; over 64 KiB is 431."""
    assert pending(b"GET / HTTP/1.1\nHost: x").step(0) is Step.READY
    assert pending(b"GET /" + b"x" * 9000).step(0) is Step.READY
    assert pending(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * (MAX_HEAD_BYTES // 6)).step(0) is Step.HEAD_TOO_LARGE


def test_a_route_with_a_lower_limit_is_not_read_past_it() -> None:
    """A path's own limit (the exchange's single message) applies before the app's largest body."""
    limits = ReadLimits(
        header_timeout=5, body_timeout=30, max_body_bytes=100, buffer_bytes=1, path_limits={"/a": 10}
    )
    declared = PendingRequest(b"POST /a?x=1 HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits, now=0.0)
    assert declared.step(0) is Step.READY
    assert declared.must_close
    chunked = PendingRequest(
        b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n" + b"x" * 11, limits, 0
    )
    assert chunked.step(0) is Step.READY
    assert chunked.must_close
    elsewhere = PendingRequest(b"POST /b HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits, now=0.0)
    assert elsewhere.step(0) is Step.MORE
