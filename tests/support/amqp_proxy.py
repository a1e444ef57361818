"""A TCP proxy between AMQP clients and a broker that can hold back, or cut off, the broker's confirms,
or stop forwarding altogether without closing anything (a silent network drop).

The broker answers a publish on a confirm-mode channel with basic.ack once it has stored the
message. Cutting a connection just before that ack reaches the client makes the client's outcome
unknown (504) although the message is stored; holding the ack keeps a publish in progress for as
long as a test needs.
"""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit, urlunsplit

# AMQP 0-9-1 frames: type (1 byte), channel (2), payload size (4), payload, frame end (0xCE).
FRAME_HEADER = 7
METHOD_FRAME = 1
# basic.ack's class and method ids, the first four bytes of its method frame's payload.
BASIC_ACK = (60).to_bytes(2, "big") + (80).to_bytes(2, "big")


class AmqpProxy:
    """Listens on a loopback port and forwards each connection to the broker at `amqp_url`."""

    def __init__(self, amqp_url: str) -> None:
        """Start listening; clients reach the broker through `url`."""
        parts = urlsplit(amqp_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5672)
        self._listener = socket.create_server(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        self.url = urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{port}"))
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._drop_armed = False
        self._hold_armed = False
        self._released = threading.Event()
        self._flowing = threading.Event()  # cleared while frozen
        self._flowing.set()
        # Set once a confirm was cut off, or is being held back.
        self.dropped = threading.Event()
        self.held = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def drop_next_confirm(self) -> None:
        """Close the next connection whose broker sends a confirm, both sides, before the confirm
        passes (once)."""
        with self._lock:
            self._drop_armed = True
            self.dropped.clear()

    def disarm(self) -> None:
        """Forward everything again."""
        with self._lock:
            self._drop_armed = False

    @contextmanager
    def confirms_held(self) -> Iterator[None]:
        """Hold back the next confirm (and what follows it on its connection) until the block ends."""
        with self._lock:
            self._hold_armed = True
            self._released.clear()
            self.held.clear()
        try:
            yield
        finally:
            with self._lock:
                self._hold_armed = False
            self._released.set()

    def freeze(self) -> None:
        """Stop forwarding bytes both ways, closing nothing: to both ends the network went silent
        (new connections are accepted, and go silent too)."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Forward again, what was held first."""
        self._flowing.set()

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Frozen for the block."""
        self.freeze()
        try:
            yield
        finally:
            self.thaw()

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._released.set()
        self._flowing.set()
        with suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in self._sockets:
                _close(sock)

    def _accept(self) -> None:
        """Forward each new client connection to the broker."""
        while True:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return  # closed
            try:
                broker = socket.create_connection(self._target)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets += [client, broker]
            threading.Thread(target=self._forward, args=(client, broker), daemon=True).start()
            threading.Thread(target=self._answer, args=(broker, client), daemon=True).start()

    def _forward(self, client: socket.socket, broker: socket.socket) -> None:
        """Pass the client's bytes to the broker as they come."""
        with suppress(OSError):
            while chunk := client.recv(65536):
                self._flowing.wait()
                broker.sendall(chunk)
        _close(client, broker)

    def _answer(self, broker: socket.socket, client: socket.socket) -> None:
        """Pass the broker's frames to the client one whole frame at a time, acting on confirms."""
        buffer = b""
        with suppress(OSError):
            while chunk := broker.recv(65536):
                buffer += chunk
                while len(buffer) >= FRAME_HEADER:
                    end = FRAME_HEADER + int.from_bytes(buffer[3:7], "big") + 1
                    if len(buffer) < end:
                        break
                    frame, buffer = buffer[:end], buffer[end:]
                    is_ack = frame[0] == METHOD_FRAME and frame[FRAME_HEADER : FRAME_HEADER + 4] == BASIC_ACK
                    if is_ack and self._cut_off():
                        _close(client, broker)
                        return
                    if is_ack:
                        self._wait_if_held()
                    self._flowing.wait()
                    client.sendall(frame)
        _close(client, broker)

    def _cut_off(self) -> bool:
        """Whether a confirm arriving now is to be cut off (disarming the drop)."""
        with self._lock:
            if not self._drop_armed:
                return False
            self._drop_armed = False
        self.dropped.set()
        return True

    def _wait_if_held(self) -> None:
        """Wait, while confirms are held, until they are released."""
        with self._lock:
            holding = self._hold_armed
        if holding:
            self.held.set()
            self._released.wait()


def _close(*sockets: socket.socket) -> None:
    """Shut both directions of each socket down, then close it."""
    for sock in sockets:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with suppress(OSError):
            sock.close()
