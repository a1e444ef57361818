"""Raw pika publishing from this process: the client-side limit, and the fast way to fill a queue."""

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import pika
from pika.delivery_mode import DeliveryMode

PERSISTENT = pika.BasicProperties(content_type="application/json", delivery_mode=DeliveryMode.Persistent)


@dataclass(frozen=True)
class PublishRun:
    """How many messages the broker took, and in how long."""

    messages: int
    seconds: float
    nacked: int = 0


class ConfirmedStream:
    """Publishes persistent messages with up to `window` of them unconfirmed at a time.

    RabbitMQ's docs call publish-and-wait slow and streaming confirms the fast path: the broker
    confirms many messages with one frame, and the window keeps the publisher from running ahead.
    pika's BlockingConnection waits for every confirm, so this drives a SelectConnection.
    """

    def __init__(self, amqp_url: str, exchange: str, routing_key: str, body: bytes, window: int) -> None:
        """Keep where and what to publish; nothing connects before `run`."""
        self._params = pika.URLParameters(amqp_url)
        self._exchange = exchange
        self._routing_key = routing_key
        self._body = body
        self._window = window
        self._count: int | None = None
        self._deadline = 0.0
        self._started = 0.0
        self._finished = 0.0
        self._sent = 0
        self._confirmed = 0
        self._nacked = 0
        self._unconfirmed: deque[int] = deque()
        self._connection: Any = None
        self._channel: Any = None
        self._error: BaseException | None = None

    def run(self, count: int | None = None, seconds: float | None = None) -> PublishRun:
        """Publish `count` messages, or for `seconds`, and return once every one is confirmed."""
        if (count is None) == (seconds is None):
            raise ValueError("give either count or seconds")
        self._count = count
        self._deadline = float("inf") if seconds is None else seconds
        self._connection = pika.SelectConnection(
            self._params,
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_connection_closed,
        )
        self._connection.ioloop.start()
        if self._error is not None:
            raise RuntimeError(f"publishing stopped: {self._error!r}") from self._error
        return PublishRun(self._confirmed, self._finished - self._started, self._nacked)

    def _on_open(self, connection: Any) -> None:
        """Open a channel once connected."""
        connection.channel(on_open_callback=self._on_channel)

    def _on_open_error(self, _connection: Any, error: BaseException) -> None:
        """Give up: the broker cannot be reached."""
        self._error = error
        self._connection.ioloop.stop()

    def _on_connection_closed(self, _connection: Any, reason: BaseException) -> None:
        """End the I/O loop; a connection lost before the run was over is an error."""
        if not self._finished and self._error is None:
            self._error = reason
        self._connection.ioloop.stop()

    def _on_channel(self, channel: Any) -> None:
        """Switch the channel to confirm mode."""
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=self._on_confirm_mode)

    def _on_channel_closed(self, _channel: Any, reason: BaseException) -> None:
        """Close the connection: the run is over, or the broker closed the channel before it was."""
        if not self._finished:
            self._error = reason
        if not (self._connection.is_closing or self._connection.is_closed):
            self._connection.close()

    def _on_confirm_mode(self, _frame: Any) -> None:
        """Start the clock and fill the window."""
        self._started = time.monotonic()
        self._deadline += self._started
        self._publish_more()

    def _wants_more(self) -> bool:
        """Whether the run still publishes (count not reached, time not up)."""
        if self._count is not None:
            return self._sent < self._count
        return time.monotonic() < self._deadline

    def _publish_more(self) -> None:
        """Publish until the window is full, or finish once nothing is outstanding."""
        while len(self._unconfirmed) < self._window and self._wants_more():
            self._channel.basic_publish(self._exchange, self._routing_key, self._body, PERSISTENT)
            self._sent += 1
            self._unconfirmed.append(self._sent)  # delivery tags count up from 1 on a channel
        if not self._unconfirmed and not self._finished:
            self._finished = time.monotonic()
            self._channel.close()

    def _on_confirm(self, frame: Any) -> None:
        """Settle the confirmed tags (one, or all up to the tag when `multiple`), then publish more."""
        method = frame.method
        acked = isinstance(method, pika.spec.Basic.Ack)
        settled = 0
        if method.multiple:
            while self._unconfirmed and self._unconfirmed[0] <= method.delivery_tag:
                self._unconfirmed.popleft()
                settled += 1
        elif method.delivery_tag in self._unconfirmed:
            self._unconfirmed.remove(method.delivery_tag)
            settled = 1
        if acked:
            self._confirmed += settled
        else:
            self._nacked += settled
        self._publish_more()


def publish_unconfirmed(
    amqp_url: str, exchange: str, routing_key: str, queue: str, body: bytes, seconds: float
) -> PublishRun:
    """Publish persistent messages without confirms for `seconds`, then one round trip to the broker."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        sent = 0
        started = time.monotonic()
        deadline = started + seconds
        while time.monotonic() < deadline:
            # Reading the clock once per hundred publishes keeps it out of the measurement.
            for _ in range(100):
                channel.basic_publish(exchange, routing_key, body, PERSISTENT)
            sent += 100
        # A synchronous call on the same channel returns after the broker has read every publish.
        channel.queue_declare(queue=queue, passive=True)
        return PublishRun(sent, time.monotonic() - started)
    finally:
        connection.close()
