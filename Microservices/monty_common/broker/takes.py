"""A request's take of messages off a queue, and how it is answered: acknowledged, or given back."""

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from monty_common.broker.timers import Timer


@dataclass(frozen=True)
class Delivery:
    """A message taken off the queue."""

    body: bytes
    content_type: str | None
    message_id: str | None
    timestamp: int | None
    redelivered: bool
    # Messages left in the queue, as basic.get reports it; None for a delivery through a consumer.
    remaining: int | None
    headers: dict[str, Any] = field(default_factory=dict)
    # Its delivery tag on the channel that took it, and all its properties (to copy it whole).
    delivery_tag: int = 0
    properties: Any = field(default=None, repr=False, compare=False)


# Keeps what a take received unacknowledged instead (leases), on the I/O thread.
Keep = Callable[[Any, list[Delivery]], None]


@dataclass(eq=False)
class Take:
    """One request for up to `limit` messages, willing to wait `wait` seconds for the first."""

    future: "Future[list[Delivery]]"
    limit: int
    wait: float
    # The take ends once its bodies pass this many bytes (the message that passes it is kept).
    max_bytes: int | None = None
    taken: list[tuple[int, Delivery]] = field(default_factory=list)
    taken_bytes: int = 0
    # Ends the wait, or a stream that stalls; cancelled when the take is answered.
    timer: Timer | None = None
    # Asked (on the I/O thread) before messages are taken: False once the request's client is gone.
    still_wanted: Callable[[], bool] | None = None
    # If set, the messages are handed to it, not acknowledged, when the take is answered.
    keep: Keep | None = None

    @property
    def gave_up(self) -> bool:
        """Whether its request has stopped waiting for the answer (if its client is gone, it stops now)."""
        if self.still_wanted is not None and not self.future.cancelled() and not self.still_wanted():
            self.future.cancel()
        return self.future.cancelled()

    @property
    def full_by_bytes(self) -> bool:
        """Whether its bodies have passed its byte budget."""
        return self.max_bytes is not None and self.taken_bytes >= self.max_bytes

    @property
    def wanted(self) -> int:
        """How many more messages it accepts."""
        return 0 if self.full_by_bytes else self.limit - len(self.taken)

    def wanted_by_bytes(self, wanted: int) -> int:
        """`wanted`, fewer when messages as large as the average so far would pass the byte budget."""
        if self.max_bytes is None or not self.taken:
            return wanted
        average = max(self.taken_bytes // len(self.taken), 1)
        return max(1, min(wanted, -(-(self.max_bytes - self.taken_bytes) // average)))

    def add(self, method: Any, properties: Any, body: bytes, remaining: int | None = None) -> None:
        """Add a message delivered by basic.get (with the queue's remaining count) or a consumer."""
        delivery = Delivery(
            body=body,
            content_type=properties.content_type,
            message_id=properties.message_id,
            timestamp=properties.timestamp,
            redelivered=bool(method.redelivered),
            remaining=remaining,
            headers=dict(properties.headers or {}),
            delivery_tag=method.delivery_tag,
            properties=properties,
        )
        self.taken.append((method.delivery_tag, delivery))
        self.taken_bytes += len(body)

    def stop_timer(self) -> None:
        """Cancel its timer, if any."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def hand_over(self, channel: Any) -> None:
        """Answer the request and acknowledge what it took (or hand it to `keep`), or requeue it all
        if the request gave up."""
        self.stop_timer()
        if not self.gave_up and self.future.set_running_or_notify_cancel():
            deliveries = [delivery for _tag, delivery in self.taken]
            if self.keep is not None:
                self.keep(channel, deliveries)
                self.future.set_result(deliveries)
                return
            # Answer first: should the acks be lost with the connection, the messages come again
            # (answered twice) rather than being acknowledged and never answered.
            self.future.set_result(deliveries)
            for tag, _delivery in self.taken:
                channel.basic_ack(tag)
        else:
            for tag, _delivery in self.taken:
                channel.basic_nack(tag, requeue=True)
