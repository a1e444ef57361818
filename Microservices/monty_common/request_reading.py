"""Reading a request off a socket before any request thread sees it: when is it all there?

A request thread that reads from a client waits as long as the client makes it wait, so a few
slow clients hold every thread. The server's event loop reads each request instead, without
blocking, into a `PendingRequest`, and hands it to a thread only once its head and body are
complete. This module is the bookkeeping, with no sockets: what is needed next, and by when.
"""

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from gunicorn.http.body import CHUNK_EXT_RE

# Largest request head (request line and headers) held; a larger one is refused with 431.
MAX_HEAD_BYTES = 64 * 1024
# As gunicorn's limit_request_line: a longer line is left to its parser, which refuses it (414).
MAX_REQUEST_LINE = 8190
# A body up to this size is always read at once; a larger one first reserves room (see ReadLimits).
SMALL_BODY_BYTES = 64 * 1024
# Longest chunk-size line, or trailer section, of a chunked body before it is malformed.
MAX_CHUNK_LINE = 8192

# An app's config key: {path: largest body} for routes whose limit is below MAX_CONTENT_LENGTH.
BODY_LIMITS = "MONTY_BODY_LIMITS"

# RFC 9112 7.1: chunk-size [ chunk-ext ] CRLF, chunk-size = 1*HEXDIG, with gunicorn's parser's own
# grammar of the extensions (BWS ";" name [ "=" value ] ...), so that a line this scan takes is one
# the parser takes, and a malformed one goes to the parser at once, to be refused there (400).
_CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]+)" + CHUNK_EXT_RE.pattern)


@dataclass(frozen=True)
class ReadLimits:
    """How long a client may take to send a request, and how much of it the server holds."""

    header_timeout: float
    body_timeout: float
    # Largest body read ahead; a request declaring more goes to the app, which refuses it (413)
    # from its Content-Length without reading it.
    max_body_bytes: int
    # Bytes of large bodies one server process holds at once, being read or served: a body over
    # SMALL_BODY_BYTES reserves its length (a chunked one, max_body_bytes) before it is read.
    buffer_bytes: int
    # Lower limits of some paths (BODY_LIMITS).
    path_limits: Mapping[str, int] = field(default_factory=dict)

    def body_limit(self, request_line: bytes) -> int:
        """The largest body read ahead for the request with `request_line`."""
        parts = request_line.split(b" ")
        path = parts[1].split(b"?")[0].decode("latin-1") if len(parts) == 3 else ""
        return self.path_limits.get(path, self.max_body_bytes)


class Step(enum.Enum):
    """What a pending request needs next."""

    MORE = "more"  # more bytes from the client
    READY = "ready"  # hand it to a request thread (complete, or its parser will refuse it)
    HEAD_TOO_LARGE = "head too large"  # refuse it: 431


class _ChunkScan:
    """Where a chunked body ends, found without decoding it."""

    def __init__(self, start: int, max_bytes: int) -> None:
        """Scan from `start`; more than `max_bytes` of data is too much to hold."""
        self.at = start
        self.max_bytes = max_bytes
        self.size_left: int | None = None  # in a chunk's data: bytes still to come
        self.data_bytes = 0
        self.in_trailers = False
        self.complete = False

    def scan(self, data: bytearray) -> Step | None:
        """None while more is needed; READY once it ended, is malformed, or is too large to hold."""
        while True:
            if self.in_trailers:
                if len(data) - self.at < 2:
                    return None
                if data[self.at : self.at + 2] == b"\r\n":
                    self.at += 2
                    self.complete = True
                    return Step.READY
                end = data.find(b"\r\n\r\n", self.at)
                if end < 0:
                    return Step.READY if len(data) - self.at > MAX_CHUNK_LINE * 4 else None
                self.at = end + 4
                self.complete = True
                return Step.READY
            if self.size_left is None:
                end = data.find(b"\r\n", self.at)
                if end < 0:
                    return Step.READY if len(data) - self.at > MAX_CHUNK_LINE else None
                line = _CHUNK_SIZE_LINE.fullmatch(data, self.at, end)
                if line is None:
                    return Step.READY  # malformed: the parser says so
                self.size_left = int(line.group(1), 16)
                self.at = end + 2
                if self.size_left == 0:
                    self.in_trailers = True
                continue
            taken = min(self.size_left, len(data) - self.at)
            self.at += taken
            self.size_left -= taken
            self.data_bytes += taken
            if self.data_bytes > self.max_bytes:
                return Step.READY  # over the limit: the app refuses it once it has read that far
            if self.size_left > 0 or len(data) - self.at < 2:
                return None
            if data[self.at : self.at + 2] != b"\r\n":
                return Step.READY
            self.at += 2
            self.size_left = None


class PendingRequest:
    """The bytes of one request read so far, and what completes it."""

    def __init__(self, data: bytes, limits: ReadLimits, now: float) -> None:
        """Start with bytes already read (pipelined after the previous request, or none)."""
        self.data = bytearray(data)
        self.limits = limits
        self.deadline = now + limits.header_timeout
        self.head_end: int | None = None
        self.body_end: int | None = None
        self._chunks: _ChunkScan | None = None
        # The body will not be all there: the connection closes after this request.
        self.must_close = False
        self.wants_continue = False
        self.continue_sent = False
        self.room_reserved = False
        self.max_body = limits.max_body_bytes

    @property
    def reading_body(self) -> bool:
        """Whether the head is complete and the body still coming."""
        return self.head_end is not None

    @property
    def room_needed(self) -> int:
        """Bytes a large body reserves before it is read (0 for a small one, or none)."""
        if self.head_end is None or self.must_close:
            return 0
        size = self.max_body if self.body_end is None else self.body_end - self.head_end
        return size if size > SMALL_BODY_BYTES else 0

    def feed(self, chunk: bytes, now: float) -> Step:
        """Add bytes the client sent; what is needed next."""
        self.data += chunk
        return self.step(now)

    def step(self, now: float) -> Step:
        """What is needed next, from what has been read."""
        if self.head_end is None:
            step = self._read_head()
            if step is not None:
                return step
            self.deadline = now + self.limits.body_timeout
        if self.body_end is not None:
            return Step.READY if len(self.data) >= self.body_end else Step.MORE
        if self._chunks is not None:
            step = self._chunks.scan(self.data)
            if step is None:
                return Step.MORE
            # Malformed, or larger than is held: the thread gets what there is, then the connection closes.
            self.must_close = not self._chunks.complete
            return step
        return Step.READY

    def _read_head(self) -> Step | None:
        """None once the head is complete and the body's framing known; otherwise what to do."""
        data = self.data
        start = 2 if data[:2] == b"\r\n" else 0  # one empty line may come first (RFC 9112 2.2)
        end = data.find(b"\r\n\r\n", max(start - 2, 0))
        if end < 0:
            if data.count(b"\n") != data.count(b"\r\n"):
                return Step.READY  # a bare LF: the parser refuses it
            line_end = data.find(b"\r\n", start)
            if line_end < 0 and len(data) - start > MAX_REQUEST_LINE + 2:
                return Step.READY  # the parser refuses the request line (414)
            return Step.HEAD_TOO_LARGE if len(data) > MAX_HEAD_BYTES else Step.MORE
        self.head_end = end + 4
        self._frame(bytes(data[start:end]))
        return None

    def _frame(self, head: bytes) -> None:
        """Learn from the head how the body ends; anything unusual is left to the parser."""
        lengths: list[bytes] = []
        codings: list[bytes] = []
        lines = head.split(b"\r\n")
        for line in lines[1:]:
            name, _colon, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip(b" \t")
            if name == b"content-length":
                lengths.append(value)
            elif name == b"transfer-encoding":
                codings.extend(coding.strip(b" \t").lower() for coding in value.split(b","))
            elif name == b"expect" and value.lower() == b"100-continue":
                self.wants_continue = lines[0].endswith(b"HTTP/1.1")
        assert self.head_end is not None
        self.max_body = self.limits.body_limit(lines[0])
        if codings:
            if codings[-1] != b"chunked" or lengths:
                self._body_unknown()
            else:
                self._chunks = _ChunkScan(self.head_end, self.max_body)
        elif len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
            self._body_unknown()
        elif lengths and int(lengths[0]) > self.max_body:
            self._body_unknown()  # the app refuses it from its Content-Length (413)
        else:
            self.body_end = self.head_end + (int(lengths[0]) if lengths else 0)
        if self.body_end == self.head_end:
            self.wants_continue = False

    def _body_unknown(self) -> None:
        """Hand the request over with its head: the body is not read ahead, the connection closes."""
        self.must_close = True
        self.wants_continue = False
        assert self.head_end is not None
        self.body_end = self.head_end
