"""Taking messages off a queue: basic.get for what it holds, a consumer only while requests wait.

A take asks for up to `limit` messages. It is served by basic.get, one in flight at a time; when
the first get says more are there than a few, the rest come through a consumer whose prefetch is
exactly what the take still wants, in one burst instead of a round trip each. A take ends when it
has `limit` or the queue is empty. A take that found nothing and may wait joins the waiters; while
there are waiters the channel consumes the queue with a prefetch of one, hands each delivery to the
oldest waiter, and cancels the consumer once nobody waits. Nothing polls: a waiting request costs
a timer on the I/O loop and a request thread blocked on its future.

Messages are acknowledged only when their request takes them; a request that has given up leaves
them in the queue (they are requeued, marked redelivered).
"""

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from pika.spec import Basic

from monty_common.broker.errors import BrokerUnavailable
from monty_common.broker.link import AmqpLink, fail

# A take wanting at least this many more messages than its first get brought streams them.
STREAM_FROM = 4
# A stream that receives nothing for this long is over: other consumers took what the count promised.
STREAM_QUIET = 0.05


@dataclass(frozen=True)
class Delivery:
    """A message taken off the queue."""

    body: bytes
    content_type: str | None
    message_id: str | None
    timestamp: int | None
    redelivered: bool
    # Messages left in the queue, as basic.get reports it; None for a delivery to a waiting request.
    remaining: int | None
    headers: dict[str, Any] = field(default_factory=dict)


def _delivery(method: Any, properties: Any, body: bytes, remaining: int | None) -> Delivery:
    """A Delivery from pika's frames."""
    return Delivery(
        body=body,
        content_type=properties.content_type,
        message_id=properties.message_id,
        timestamp=properties.timestamp,
        redelivered=bool(method.redelivered),
        remaining=remaining,
        headers=dict(properties.headers or {}),
    )


@dataclass(eq=False)
class _Take:
    """One request for up to `limit` messages, willing to wait `wait` seconds for the first."""

    future: "Future[list[Delivery]]"
    limit: int
    wait: float
    taken: list[tuple[int, Delivery]] = field(default_factory=list)
    cancel_timer: Callable[[], None] | None = None
    # While streaming: how many more deliveries the take accepts, and its consumer's tag.
    stream_left: int = 0
    stream_tag: str | None = None


class MessageGetter(AmqpLink):
    """Takes messages from the topology's queue, at once or waiting a bounded time for one."""

    role = "getter"

    def _reset_state(self) -> None:
        """Also forget the takes in progress and the consumer."""
        super()._reset_state()
        self._queued: deque[_Take] = deque()
        self._current: _Take | None = None
        self._waiters: deque[_Take] = deque()
        self._consumer_tag: str | None = None
        self._cancelling = False

    # --- request-thread side -------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> Delivery | None:
        """Take one message and acknowledge it; None when the queue is empty."""
        taken = self.take(1, 0.0, timeout)
        return taken[0] if taken else None

    def take(self, limit: int, wait: float = 0.0, timeout: float | None = None) -> list[Delivery]:
        """Take and acknowledge up to `limit` messages the queue holds now.

        If it holds none, wait up to `wait` seconds and answer as soon as one arrives ([] if none
        does). `timeout` bounds the broker's part, on top of `wait`.
        """
        budget = (self.settings.broker_timeout if timeout is None else timeout) + wait
        return self.call(lambda channel, future: self._enqueue(channel, _Take(future, limit, wait)), budget)

    # --- I/O-thread side -----------------------------------------------------------------------

    def _prepare_channel(self, channel: Any, done: Any) -> None:
        """Listen for Basic.GetEmpty; give a waiting consumer one message at a time."""
        self._queued.clear()
        self._current = None
        self._waiters.clear()
        self._consumer_tag = None
        self._cancelling = False
        channel.add_callback(lambda _frame: self._on_get_empty(channel), [Basic.GetEmpty], one_shot=False)
        channel.add_on_cancel_callback(lambda frame: self._on_broker_cancel(channel, frame))
        # A delivery nobody waits for any more goes back at once; with one in flight, at most one does.
        channel.basic_qos(prefetch_count=1, callback=lambda _frame: done())

    def _enqueue(self, channel: Any, take: _Take) -> None:
        """Queue a take; pika allows one basic.get in flight per channel."""
        self._queued.append(take)
        if self._current is None:
            self._next_get(channel)

    def _next_get(self, channel: Any) -> None:
        """Start the next queued take whose request still waits."""
        while self._queued:
            take = self._queued.popleft()
            if take.future.cancelled():
                continue
            self._current = take
            channel.basic_get(self.topology.queue, self._on_get_ok, auto_ack=False)
            return
        self._current = None

    def _on_get_ok(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        """Add the message to the current take; get another while it wants more and more are there."""
        take = self._current
        if take is None:  # cannot happen: a get is sent only for a current take
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        take.taken.append(
            (method.delivery_tag, _delivery(method, properties, body, int(method.message_count)))
        )
        wanted = min(take.limit - len(take.taken), int(method.message_count))
        if wanted > 0 and not take.future.cancelled():
            if wanted >= STREAM_FROM:
                self._stream(channel, take, wanted)
            else:
                channel.basic_get(self.topology.queue, self._on_get_ok, auto_ack=False)
            return
        self._hand_over(channel, take)
        self._next_get(channel)

    def _stream(self, channel: Any, take: _Take, wanted: int) -> None:
        """Receive `wanted` more messages for the current take through a consumer of that prefetch."""
        take.stream_left = wanted
        # The broker sends nothing past the prefetch until acks come, and none come before the
        # stream is cancelled: the take never receives more than it wants.
        channel.basic_qos(prefetch_count=wanted)
        take.stream_tag = channel.basic_consume(
            self.topology.queue,
            lambda _channel, method, properties, body: self._on_streamed(
                channel, take, method, properties, body
            ),
        )
        self._expect_more(channel, take)

    def _expect_more(self, channel: Any, take: _Take) -> None:
        """End the stream if nothing arrives for STREAM_QUIET seconds."""
        if take.cancel_timer is not None:
            take.cancel_timer()
        loop = channel.connection.ioloop
        handle = loop.call_later(STREAM_QUIET, lambda: self._end_stream(channel, take))
        take.cancel_timer = lambda: loop.remove_timeout(handle)

    def _on_streamed(self, channel: Any, take: _Take, method: Any, properties: Any, body: bytes) -> None:
        """Add a streamed message to its take; end the stream once the take has all it wants."""
        if take is not self._current or take.stream_left <= 0:
            channel.basic_nack(method.delivery_tag, requeue=True)  # cannot happen within the prefetch
            return
        take.taken.append((method.delivery_tag, _delivery(method, properties, body, None)))
        take.stream_left -= 1
        if take.stream_left == 0:
            self._end_stream(channel, take)
        else:
            self._expect_more(channel, take)

    def _end_stream(self, channel: Any, take: _Take) -> None:
        """Cancel the take's consumer; answer the take once the broker confirms no more will come."""
        if take.cancel_timer is not None:
            take.cancel_timer()
            take.cancel_timer = None
        tag, take.stream_tag = take.stream_tag, None
        if tag is None:
            return  # already ending
        if tag not in channel.consumer_tags:
            self._on_stream_ended(channel, take)  # the broker cancelled it already
            return
        channel.basic_cancel(tag, callback=lambda _frame: self._on_stream_ended(channel, take))

    def _on_stream_ended(self, channel: Any, take: _Take) -> None:
        """No delivery can follow: answer the take, then serve the next one."""
        take.stream_left = 0
        if take is self._current:
            self._hand_over(channel, take)
            self._next_get(channel)

    def _on_broker_cancel(self, channel: Any, frame: Any) -> None:
        """The broker cancelled a consumer (its queue was deleted): forget it, and carry on."""
        tag = frame.method.consumer_tag
        current = self._current
        if current is not None and current.stream_tag == tag:
            current.stream_tag = None
            if current.cancel_timer is not None:
                current.cancel_timer()
                current.cancel_timer = None
            self._on_stream_ended(channel, current)
        elif tag == self._consumer_tag:
            self._consumer_tag = None
            self._cancelling = False
            if self._waiters:
                self._consume(channel)

    def _on_get_empty(self, channel: Any) -> None:
        """The queue is empty: answer the current take, or let it wait for a delivery."""
        take = self._current
        if take is not None:
            if take.taken or take.wait <= 0 or take.future.cancelled():
                self._hand_over(channel, take)
            else:
                self._start_waiting(channel, take)
        self._next_get(channel)

    def _hand_over(self, channel: Any, take: _Take) -> None:
        """Acknowledge what `take` holds and answer its request, or requeue it all if it gave up."""
        if take.cancel_timer is not None:
            take.cancel_timer()
            take.cancel_timer = None
        if take.future.set_running_or_notify_cancel():
            # Answer first: should the acks be lost with the connection, the messages come again
            # (answered twice) rather than being acknowledged and never answered.
            take.future.set_result([delivery for _tag, delivery in take.taken])
            for tag, _delivered in take.taken:
                channel.basic_ack(tag)
        else:
            for tag, _delivered in take.taken:
                channel.basic_nack(tag, requeue=True)

    def _start_waiting(self, channel: Any, take: _Take) -> None:
        """Wait up to take.wait for a delivery, consuming the queue meanwhile."""
        loop = channel.connection.ioloop
        handle = loop.call_later(take.wait, lambda: self._on_wait_over(channel, take))
        take.cancel_timer = lambda: loop.remove_timeout(handle)
        self._waiters.append(take)
        self._consume(channel)

    def _on_wait_over(self, channel: Any, take: _Take) -> None:
        """Nothing came in time: answer the take with nothing."""
        take.cancel_timer = None
        if take in self._waiters:
            self._waiters.remove(take)
            self._hand_over(channel, take)
            self._stop_consuming_when_idle(channel)

    def _consume(self, channel: Any) -> None:
        """Consume the queue, unless already consuming (or a cancel is on its way; it restarts after)."""
        if self._consumer_tag is None and not self._cancelling:
            channel.basic_qos(prefetch_count=1)  # a stream may have set another for its own consumer
            self._consumer_tag = channel.basic_consume(
                self.topology.queue,
                lambda _channel, method, properties, body: self._on_delivery(
                    channel, method, properties, body
                ),
            )

    def _on_delivery(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        """Give the delivery to the oldest take still waiting, or put it back."""
        while self._waiters:
            take = self._waiters.popleft()
            if take.future.cancelled():
                continue
            take.taken.append((method.delivery_tag, _delivery(method, properties, body, None)))
            self._hand_over(channel, take)
            break
        else:
            channel.basic_nack(method.delivery_tag, requeue=True)
        self._stop_consuming_when_idle(channel)

    def _stop_consuming_when_idle(self, channel: Any) -> None:
        """Cancel the consumer once nobody waits, so the queue's messages stay for basic.get."""
        if self._waiters or self._consumer_tag is None or self._cancelling:
            return
        if self._consumer_tag not in channel.consumer_tags:
            self._consumer_tag = None  # the broker cancelled it already
            return
        self._cancelling = True
        channel.basic_cancel(self._consumer_tag, callback=lambda _frame: self._on_cancelled(channel))

    def _on_cancelled(self, channel: Any) -> None:
        """The consumer is gone; start another if takes began waiting meanwhile."""
        self._consumer_tag = None
        self._cancelling = False
        if self._waiters:
            self._consume(channel)

    def _on_link_lost(self, reason: str) -> None:
        """Takes in progress fail; unacknowledged messages go back to the queue with the channel."""
        error = BrokerUnavailable(reason)
        takes = [*([self._current] if self._current is not None else []), *self._queued, *self._waiters]
        for take in takes:
            fail(take.future, error)
        self._queued.clear()
        self._waiters.clear()
        self._current = None
        self._consumer_tag = None
        self._cancelling = False
