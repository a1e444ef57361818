"""Taking single messages off a queue with basic.get, acknowledging each one handed out."""

from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from pika.spec import Basic

from monty_common.broker.errors import BrokerUnavailable
from monty_common.broker.link import AmqpLink, fail, settle


@dataclass(frozen=True)
class Delivery:
    """A message taken off the queue."""

    body: bytes
    content_type: str | None
    message_id: str | None
    timestamp: int | None
    redelivered: bool
    remaining: int
    headers: dict[str, Any] = field(default_factory=dict)


class MessageGetter(AmqpLink):
    """Takes one message at a time from the topology's queue."""

    role = "getter"

    def _reset_state(self) -> None:
        """Also forget the gets waiting for the channel."""
        super()._reset_state()
        self._waiting: deque[Future[Delivery | None]] = deque()
        self._in_flight: Future[Delivery | None] | None = None

    def get(self, timeout: float | None = None) -> Delivery | None:
        """Take one message and acknowledge it; None when the queue is empty.

        A request that gives up before its message arrives leaves the message in the queue.
        """
        return self.call(self._enqueue_get, timeout)

    def _prepare_channel(self, channel: Any, done: Any) -> None:
        """Listen for Basic.GetEmpty, which pika reports only to an explicit callback."""
        self._waiting.clear()
        self._in_flight = None
        channel.add_callback(lambda _frame: self._on_get_empty(channel), [Basic.GetEmpty], one_shot=False)
        done()

    def _enqueue_get(self, channel: Any, future: "Future[Delivery | None]") -> None:
        """Queue a get; pika allows one basic.get in flight per channel."""
        self._waiting.append(future)
        if self._in_flight is None:
            self._next_get(channel)

    def _next_get(self, channel: Any) -> None:
        """Send the next waiting get whose request still waits."""
        while self._waiting:
            future = self._waiting.popleft()
            if future.cancelled():
                continue
            self._in_flight = future
            channel.basic_get(self.topology.queue, self._on_get_ok, auto_ack=False)
            return
        self._in_flight = None

    def _on_get_ok(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        """Hand the message to its request and ack it, or put it back if the request gave up."""
        future = self._in_flight
        if future is None or not future.set_running_or_notify_cancel():
            channel.basic_nack(method.delivery_tag, requeue=True)
        else:
            channel.basic_ack(method.delivery_tag)
            future.set_result(
                Delivery(
                    body=body,
                    content_type=properties.content_type,
                    message_id=properties.message_id,
                    timestamp=properties.timestamp,
                    redelivered=bool(method.redelivered),
                    remaining=int(method.message_count),
                    headers=dict(properties.headers or {}),
                )
            )
        self._next_get(channel)

    def _on_get_empty(self, channel: Any) -> None:
        """The queue was empty."""
        if self._in_flight is not None:
            settle(self._in_flight, None)
        self._next_get(channel)

    def _on_link_lost(self, reason: str) -> None:
        """Gets in flight fail; an unacked message goes back to the queue with the connection."""
        error = BrokerUnavailable(reason)
        if self._in_flight is not None:
            fail(self._in_flight, error)
        for future in self._waiting:
            fail(future, error)
        self._waiting.clear()
        self._in_flight = None
