"""gunicorn's threaded worker, reading each request whole before a thread serves it, and answering the
requests its HTTP parser refuses in problem+json too.

gunicorn's gthread worker hands a connection to a request thread as soon as it is readable, and the
thread then blocks reading the rest of the head and the body: a handful of clients sending half a
header hold every thread. Here the worker's event loop reads requests itself, without blocking
(request_reading.py says when one is complete), within MONTY_HEADER_TIMEOUT for the head and
MONTY_BODY_TIMEOUT for the body, and a thread gets a request only once all of it is in memory: no
request thread ever waits for a client to send.

On SIGTERM the worker drains (draining.py): for the drain's MONTY_DRAIN_SECONDS /readyz answers 503
while requests are still served, each answer closing its connection; then the worker takes what the
kernel has already accepted for it and closes its listening sockets (a new connection is refused,
never left in the backlog to be reset), ends the app's waits, serves what it holds, and exits before
gunicorn's graceful_timeout (serving.py's exit bound) runs out.
"""

import contextlib
import selectors
import socket
import time
from collections import deque
from functools import partial
from typing import Any

from gunicorn import http, util
from gunicorn.http.errors import (
    ConfigurationProblem,
    InvalidResponseHeader,
    InvalidResponseHeaderName,
    LimitRequestHeaders,
    ParseException,
)
from gunicorn.http.unreader import Unreader
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

from monty_common.draining import Drain, drain_of
from monty_common.parse_errors import describe
from monty_common.raw_answers import problem_answer, refusal, refusal_status
from monty_common.request_ids import new_request_id
from monty_common.request_reading import BODY_LIMITS, PendingRequest, ReadLimits, Step

# Faults of the server or the application, which gunicorn's own handling logs as errors.
_NOT_THE_CLIENTS = (ConfigurationProblem, InvalidResponseHeader, InvalidResponseHeaderName)

# Read limits when the application object does not say (gunicorn run some other way).
DEFAULT_LIMITS = ReadLimits(
    header_timeout=5.0, body_timeout=30.0, max_body_bytes=1024 * 1024, buffer_bytes=64 << 20
)
# Bytes read from a client in one go.
RECV_BYTES = 256 * 1024
# How long a closing connection waits for the client to close too (as gunicorn's graceful close).
LINGER_SECONDS = 2.0
# Largest piece a request thread takes from a read-ahead request at once (as gunicorn's own).
MAX_PIECE = 1024 * 1024
# How long before gunicorn's graceful_timeout runs out a stopping worker gives up on what it still
# serves and exits by itself (after that the master kills it).
EXIT_MARGIN = 1.0


class ReadAheadUnreader(Unreader):  # type: ignore[misc]
    """gunicorn's parser reads a request from here: the bytes the event loop read, never the socket."""

    def __init__(self, data: bytearray) -> None:
        """Serve `data`; after it, the end of the stream."""
        super().__init__()
        self._data = memoryview(data)
        self._at = 0

    def chunk(self, size_hint: int | None = None) -> bytes:
        """The next piece of what was read ahead (b"" once it is all served)."""
        size = min(max(size_hint or 0, 64 * 1024), MAX_PIECE)
        piece = bytes(self._data[self._at : self._at + size])
        self._at += len(piece)
        if self._at >= len(self._data):
            self._data = memoryview(b"")  # all read: the request's bytes are let go now
            self._at = 0
        return piece

    def rest(self) -> bytes:
        """What the request did not use (the start of the next one, pipelined); the rest is let go."""
        rest: bytes = self.buf.getvalue() + bytes(self._data[self._at :])
        self._data = memoryview(b"")
        self._at = 0
        self.buf.seek(0)
        self.buf.truncate()
        return rest


def skip_unread_body(parser: Any) -> None:
    """Read past what the app left of its request's body (all of it in memory, read ahead), so the
    next request on the connection starts after it, not inside it."""
    message = getattr(parser, "mesg", None)
    body = getattr(message, "body", None)
    if body is not None:
        while body.read(RECV_BYTES):
            pass


class ProblemThreadWorker(ThreadWorker):  # type: ignore[misc]
    """The gthread worker reading whole requests in its event loop; a request its parser refuses gets
    problem+json instead of an HTML page."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """No request is being read yet."""
        super().__init__(*args, **kwargs)
        self.limits = DEFAULT_LIMITS
        self.reading: dict[TConn, PendingRequest] = {}
        # Room reserved by large bodies (being read, or served by a thread), and the requests whose
        # body waits, unread, for room. Reserving the whole body first means that every body being
        # read can complete: bodies each read in part cannot fill the room and wait for each other.
        self.reserved = 0
        self.parked: deque[TConn] = deque()
        # Connections closing after their answer, until the client closes too or its time is up.
        self.lingering: dict[TConn, float] = {}
        # The app's drain; when it began (SIGTERM) and when the worker stopped accepting.
        self.drain = Drain(0.0)
        self.drain_began: float | None = None
        self.stopped_at: float | None = None

    def run(self) -> None:
        """Take the read limits the server was given, then serve."""
        if self.cfg.is_ssl:
            raise RuntimeError("TLS is terminated in front of MontyExchange's servers, not by gunicorn")
        limits = getattr(self.app, "read_limits", DEFAULT_LIMITS)
        config = getattr(self.wsgi, "config", {})
        max_body = int(config.get("MAX_CONTENT_LENGTH") or limits.max_body_bytes)
        # At least one largest request must fit, or it would wait for room that never comes.
        self.limits = ReadLimits(
            limits.header_timeout,
            limits.body_timeout,
            max_body,
            max(limits.buffer_bytes, max_body + 2 * 64 * 1024),
            dict(config.get(BODY_LIMITS, {})),
        )
        self.drain = drain_of(self.wsgi) or Drain(0.0)
        self.serve()
        self.finish()

    # --- the event loop: serving, draining, stopping ---------------------------------------------

    def serve(self) -> None:
        """gthread's event loop, until the drain is over (or the master is gone)."""
        self.poller.register(
            self.method_queue.fileno(), selectors.EVENT_READ, self.method_queue.run_callbacks
        )
        self.set_accept_enabled(True)
        while self.alive:
            self.notify()
            can_accept = self.nr_conns < self.worker_connections
            if can_accept != self._accepting:
                self.set_accept_enabled(can_accept)
            self.wait_for_and_dispatch_events(timeout=self.drain_left(1.0))
            if not self.is_parent_alive() or self.drain_left(1.0) <= 0:
                break
            self.murder_keepalived()
            self.murder_pending()

    def handle_exit(self, sig: int, frame: Any) -> None:
        """SIGTERM: drain (begun on the event loop: a signal handler only queues it)."""
        if self.alive:
            self.method_queue.defer(self.begin_drain)

    def begin_drain(self) -> None:
        """Say not ready, and close each connection after its answer, for the drain's seconds."""
        if self.drain_began is not None:
            return
        self.drain_began = time.monotonic()
        self.drain.begin()
        self.log.info("draining for %s s before stopping", self.drain.seconds)

    def drain_left(self, most: float) -> float:
        """Seconds until the drain is over, `most` at most (`most` while there is no drain)."""
        if self.drain_began is None:
            return most
        return min(most, max(0.0, self.drain_began + self.drain.seconds - time.monotonic()))

    def finish(self) -> None:
        """Stop accepting, serve what was accepted until none is left or the time is up, then close."""
        self.stop_accepting()
        # Kept-alive connections stay a moment, for a request a client may already be sending (it is
        # answered with Connection: close), as gthread's own stop does.
        self._cap_keepalive(time.monotonic() + STOP_KEEPALIVE_LINGER)
        began = self.drain_began if self.drain_began is not None else time.monotonic()
        exit_by = began + max(0.0, self.cfg.graceful_timeout - EXIT_MARGIN)
        while self.nr_conns > 0 and time.monotonic() < exit_by:
            self.notify()
            timeout = min(1.0, exit_by - time.monotonic())
            if self.keepalived_conns:
                timeout = min(timeout, self.keepalived_conns[0].timeout - time.monotonic())
            self.wait_for_and_dispatch_events(timeout=max(0.0, timeout))
            self.murder_keepalived()
            self.murder_pending()
        if self.nr_conns > 0:
            self.log.warning("stopping with %s connections still open", self.nr_conns)
        self.murder_keepalived(force=True)
        self.tpool.shutdown(wait=False)
        self.poller.close()
        self.method_queue.close()

    def stop_accepting(self) -> None:
        """Take the connections the kernel has already accepted (their clients may be sending), close
        the listening sockets, so that a new connection is refused, and end the app's waits."""
        self.alive = False
        self.stopped_at = time.monotonic()
        self.set_accept_enabled(False)  # unregistered first: other workers keep the sockets open
        for listener in self.sockets:
            while self.accept(listener):
                pass
            listener.close()
        self.drain.stop()

    # --- the event loop: reading requests --------------------------------------------------------

    def accept(self, listener: Any) -> bool:
        """Accept a connection and start reading its first request; False if none was waiting."""
        try:
            client, address = listener.accept()
        except (BlockingIOError, InterruptedError):
            return False
        except ConnectionAbortedError:
            return True  # gone already; others may wait behind it
        self.nr_conns += 1
        self.start_reading(TConn(self.cfg, client, address, listener.getsockname()), b"")
        return True

    def on_client_socket_readable(self, conn: TConn, client: Any) -> None:
        """A kept-alive connection has a next request: read it."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self.start_reading(conn, b"")

    def start_reading(self, conn: TConn, data: bytes) -> None:
        """Read a request on `conn`, starting from `data` (bytes that came after the previous one)."""
        conn.sock.setblocking(False)
        pending = PendingRequest(data, self.limits, time.monotonic())
        self.reading[conn] = pending
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_request_readable, conn))
        if data:
            self.advance(conn, pending, pending.step(time.monotonic()))

    def on_request_readable(self, conn: TConn, _client: Any) -> None:
        """Read what the client sent of its request."""
        pending = self.reading[conn]
        try:
            chunk = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.drop(conn)  # the client went away
            return
        self.advance(conn, pending, pending.feed(chunk, time.monotonic()))

    def advance(self, conn: TConn, pending: PendingRequest, step: Step) -> None:
        """Act on what the request needs next."""
        if step is Step.HEAD_TOO_LARGE:
            self.refuse(conn, self.unparsable(conn.client, LimitRequestHeaders("request head over 64 KiB")))
        elif step is Step.READY:
            if pending.room_needed and not pending.room_reserved:
                # Read whole at once: there was no time to wait for room, it is held all the same.
                pending.room_reserved = True
                self.reserved += pending.room_needed
            self.hand_over(conn, pending)
        elif pending.reading_body and pending.room_needed and not pending.room_reserved:
            self.reserve_or_park(conn, pending)
        elif pending.wants_continue and not pending.continue_sent:
            # The client waits for this before it sends the body (RFC 9110 10.1.1).
            pending.continue_sent = True
            self.send_now(conn, b"HTTP/1.1 100 Continue\r\n\r\n")

    def reserve_or_park(self, conn: TConn, pending: PendingRequest) -> None:
        """Reserve room for a large body and read on, or leave it unread until there is room."""
        if self.reserved and self.reserved + pending.room_needed > self.limits.buffer_bytes:
            self.poller.unregister(conn.sock)
            self.parked.append(conn)
            return
        pending.room_reserved = True
        self.reserved += pending.room_needed
        self.advance(conn, pending, Step.MORE)

    def hand_over(self, conn: TConn, pending: PendingRequest) -> None:
        """Give the complete request to a request thread."""
        self.forget(conn, release=False)
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        # The unreader holds the bytes from here on, and lets them go once they are read.
        conn.parser.unreader = ReadAheadUnreader(pending.data)
        pending.data = bytearray()
        conn.monty_request = pending
        conn.data_ready = True  # gthread's own wait for the first byte is over
        self.enqueue_req(conn)

    def murder_pending(self) -> None:
        """Close connections whose request did not arrive in time (and idle ones once stopped a moment:
        a client that has just connected is sending its request now)."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [conn for conn, deadline in self.lingering.items() if now >= deadline]:
            self.end_linger(conn)
        for conn, pending in list(self.reading.items()):
            if now >= pending.deadline:
                self.refuse(conn, self.timed_out(conn.client, pending) if pending.data else b"")
            elif (
                not pending.data
                and self.stopped_at is not None
                and now >= self.stopped_at + STOP_KEEPALIVE_LINGER
            ):
                self.drop(conn)

    def timed_out(self, addr: Any, pending: PendingRequest) -> bytes:
        """The 408 answering a request that did not arrive in time, logged under a new request id (its
        head, if it came, is not trusted for one)."""
        part = "body" if pending.reading_body else "head"
        request_id = new_request_id()
        self.log.info(
            "Request timed out from ip=%s: its %s did not arrive in time",
            (addr or ("",))[0],
            part,
            extra={"request_id": request_id, "status": 408},
        )
        detail = f"The request's {part} did not arrive in time."
        return problem_answer(408, "Request Timeout", "request-timeout", detail, request_id)

    def unparsable(self, addr: Any, error: ParseException) -> bytes:
        """The answer refusing a request the parser cannot read, logged under a new request id (the
        request's own X-Request-Id is not trusted: its head did not parse). The log line names the
        error's kind only: gunicorn's message quotes the request, tokens and passwords included."""
        request_id = new_request_id()
        self.log.warning(
            "Invalid request from ip=%s: %s",
            (addr or ("",))[0],
            describe(error),
            extra={"request_id": request_id, "status": refusal_status(error)[0]},
        )
        return refusal(error, request_id)

    def refuse(self, conn: TConn, answer: bytes) -> None:
        """Answer `answer` (if any) without waiting for the client, and close the connection."""
        if answer:
            self.send_now(conn, answer)
        self.drop(conn)

    def send_now(self, conn: TConn, data: bytes) -> None:
        """Send a short answer if the socket takes it now; a client that does not read loses it."""
        try:
            conn.sock.send(data)
        except OSError:
            self.log.debug("could not answer a client that does not read")

    def drop(self, conn: TConn) -> None:
        """Close a connection whose request is being read."""
        self.forget(conn, release=True)
        self.nr_conns -= 1
        conn.close()

    def forget(self, conn: TConn, release: bool) -> None:
        """Stop reading `conn`; `release` its bytes too, unless a thread is to serve them."""
        pending = self.reading.pop(conn)
        if conn in self.parked:
            self.parked.remove(conn)
        else:
            with contextlib.suppress(KeyError, ValueError):
                self.poller.unregister(conn.sock)
        if release:
            self.release(pending)

    def release(self, pending: PendingRequest) -> None:
        """Give back the room `pending` reserved; parked bodies that now fit are read."""
        if not pending.room_reserved:
            return
        pending.room_reserved = False
        self.reserved -= pending.room_needed
        while self.parked:
            conn = self.parked[0]
            waiting = self.reading[conn]
            if self.reserved and self.reserved + waiting.room_needed > self.limits.buffer_bytes:
                return
            self.parked.popleft()
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_request_readable, conn))
            self.reserve_or_park(conn, waiting)

    # --- after a request thread ------------------------------------------------------------------

    def finish_request(self, conn: TConn, fs: Any) -> None:
        """Release the request's bytes; read a pipelined next request, keep the connection alive, or
        close it without waiting for the client."""
        pending: PendingRequest | None = getattr(conn, "monty_request", None)
        conn.monty_request = None
        if pending is not None:
            self.release(pending)
        keep = not fs.cancelled() and fs.exception() is None and fs.result() is True
        unreader = conn.parser.unreader if conn.parser is not None else None
        if keep and isinstance(unreader, ReadAheadUnreader):
            skip_unread_body(conn.parser)
        # Taking the rest lets the request's bytes go, even from a connection kept alive.
        rest = unreader.rest() if isinstance(unreader, ReadAheadUnreader) else b""
        if keep and rest and self.alive:
            self.start_reading(conn, rest)
        elif keep:
            super().finish_request(conn, fs)
        else:
            self.linger(conn)

    def linger(self, conn: TConn) -> None:
        """Close after an answer as RFC 9112 9.6 asks (FIN, then read what the client still sends, so
        the kernel does not reset the connection under the answer), in the event loop: gunicorn's own
        graceful close waits for the client there, up to 2 s, and stalls every other connection."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_linger_readable, conn))
        except (OSError, ValueError):
            self.nr_conns -= 1
            conn.close()
            return
        self.lingering[conn] = time.monotonic() + LINGER_SECONDS

    def on_linger_readable(self, conn: TConn, _client: Any) -> None:
        """Drop what a closing client still sends; close once it closes too."""
        try:
            ended = not conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            ended = True
        if ended:
            self.end_linger(conn)

    def end_linger(self, conn: TConn) -> None:
        """Close a lingering connection."""
        del self.lingering[conn]
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()

    def handle_request(self, req: Any, conn: TConn) -> bool:
        """Serve the request; close the connection after one whose body was not read ahead, and after
        every answer while draining (a kept-alive client then connects again, to another server)."""
        pending: PendingRequest | None = getattr(conn, "monty_request", None)
        if pending is not None and pending.continue_sent:
            req._expected_100_continue = False  # already answered by the event loop
        if self.drain.draining:
            req.must_close = True
        keep = bool(super().handle_request(req, conn))
        return keep and not (pending is not None and pending.must_close)

    def _keepalive_after(self, conn: TConn, keepalive: bool) -> bool:
        """Whether the connection serves a next request: not when the body the app left unread proves
        malformed as it is skipped (a bad trailer, say). Its answer is sent already, so the connection
        closes; gunicorn would send a second answer, a 400, that the client takes for its next."""
        try:
            return bool(super()._keepalive_after(conn, keepalive))
        except ParseException as error:
            self.log.debug("closing after an unread body that is malformed: %s", describe(error))
            return False

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Refuse an unparsable request in problem+json; leave everything else to gunicorn."""
        if not isinstance(exc, ParseException) or isinstance(exc, _NOT_THE_CLIENTS):
            super().handle_error(req, client, addr, exc)
            return
        answer = self.unparsable(addr, exc)
        try:
            util.write_nonblock(client, answer)
        except OSError:
            self.log.debug("could not answer the refused request")
