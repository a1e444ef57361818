"""Taking messages off a queue: basic.get for what it holds, a stream for the rest of a large take.

A take asks for up to `limit` messages. It is served by basic.get, one in flight at a time; when
the first get says more are there than a few, the rest come through a stream (streaming.py) in
one burst instead of a round trip each. A take ends when it has `limit` or the queue is empty. A
take that found nothing and may wait joins the waiters (waiting.py).

Messages are acknowledged only when their request takes them; a request that has given up leaves
them in the queue (they are requeued, marked redelivered).
"""

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from pika.spec import Basic

from monty_common.broker.errors import BrokerUnavailable
from monty_common.broker.jobs import fail
from monty_common.broker.link import AmqpLink
from monty_common.broker.session import ChannelRole
from monty_common.broker.streaming import TakeStream
from monty_common.broker.takes import Delivery, Keep, Take
from monty_common.broker.topology import Topology
from monty_common.broker.waiting import Waiters
from monty_common.settings import BrokerSettings

# A take wanting at least this many more messages than its first get brought streams them.
STREAM_FROM = 4


class MessageGetter:
    """Takes messages from the topology's queue, at once or waiting a bounded time for one.

    Request threads call `get` and `take`; everything else runs on the link's I/O thread, as the
    link's channel role.
    """

    def __init__(
        self,
        settings: BrokerSettings,
        topology: Topology,
        service: str,
        name: str = "getter",
        companion: ChannelRole | None = None,
    ) -> None:
        """A getter whose link connects on first use; `companion` also works on its channel."""
        self.queue = topology.queue
        self.link = AmqpLink(settings, topology, self, name, service)
        self._companion = companion
        self._queued: deque[Take] = deque()
        self._current: Take | None = None
        self._stream: TakeStream | None = None
        self._waiters = Waiters(self.queue)
        # Set once the server stops: a take then answers with what the queue holds, never waits.
        self._waits_over = False

    def close(self) -> None:
        """Close the link for good."""
        self.link.close()

    def end_waits(self) -> None:
        """Answer every take waiting for a message now, and let no take wait from now on (the server
        is stopping); from any thread, without waiting."""
        self._waits_over = True  # before the job below: a take that finds the queue empty after it sees it
        self.link.post(lambda channel, _future: self._waiters.end_all(channel))

    @property
    def waiting(self) -> int:
        """Takes waiting for a message now (a gauge, read from any thread)."""
        return len(self._waiters)

    # --- request threads ---------------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> Delivery | None:
        """Take one message and acknowledge it; None when the queue is empty."""
        taken = self.take(1, 0.0, timeout)
        return taken[0] if taken else None

    def take(
        self,
        limit: int,
        wait: float = 0.0,
        timeout: float | None = None,
        max_bytes: int | None = None,
        still_wanted: Callable[[], bool] | None = None,
        keep: Keep | None = None,
    ) -> list[Delivery]:
        """Take and acknowledge (or hand to `keep`, see Take) up to `limit` messages the queue holds
        now, ending once their bodies pass `max_bytes` (the message that passes it is kept).

        If it holds none, wait up to `wait` seconds and answer as soon as one arrives ([] if none
        does). `timeout` bounds the broker's part, on top of `wait`. `still_wanted` is asked while
        waiting and again right before messages are taken: once it says no, nothing is taken
        (raises Abandoned).
        """
        budget = (self.link.settings.broker_timeout if timeout is None else timeout) + wait

        def enqueue(channel: Any, future: "Future[list[Delivery]]") -> None:
            self._enqueue(channel, Take(future, limit, wait, max_bytes, still_wanted=still_wanted, keep=keep))

        taken: list[Delivery] = self.link.call(enqueue, budget, still_wanted)
        return taken

    # --- the I/O thread ----------------------------------------------------------------------------

    def prepare(self, channel: Any, done: Callable[[], None]) -> None:
        """Listen for Basic.GetEmpty and for consumers the broker cancels; one delivery in flight."""
        self._queued.clear()
        self._current = None
        self._stream = None
        self._waiters = Waiters(self.queue)
        channel.add_callback(lambda _frame: self._on_get_empty(channel), [Basic.GetEmpty], one_shot=False)
        channel.add_on_cancel_callback(lambda frame: self._on_broker_cancel(channel, frame))
        # A delivery nobody waits for any more goes back at once; with one in flight, at most one does.
        companion = self._companion
        channel.basic_qos(
            prefetch_count=1,
            callback=lambda _frame: done() if companion is None else companion.prepare(channel, done),
        )

    def _enqueue(self, channel: Any, take: Take) -> None:
        """Queue a take; pika allows one basic.get in flight per channel."""
        self._queued.append(take)
        if self._current is None:
            self._next_get(channel)

    def _next_get(self, channel: Any) -> None:
        """Start the next queued take whose request still waits."""
        self._current = None
        while self._queued:
            take = self._queued.popleft()
            if not take.gave_up:
                self._current = take
                channel.basic_get(self.queue, self._on_get_ok, auto_ack=False)
                return

    def _on_get_ok(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        """Add the message to the current take; get or stream more while it wants more and more are there."""
        take = self._current
        if take is None:  # cannot happen: a get is sent only for a current take
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        remaining = int(method.message_count)
        take.add(method, properties, body, remaining)
        wanted = min(take.wanted, remaining)
        if wanted <= 0 or take.gave_up:
            self._finish(channel, take)
        elif take.wanted_by_bytes(wanted) >= STREAM_FROM:
            # Streamed messages arrive up to the prefetch at once: no more than are likely to fit.
            wanted = take.wanted_by_bytes(wanted)
            self._stream = TakeStream(
                channel, self.queue, take, wanted, lambda: self._on_stream_end(channel, take)
            )
        else:
            channel.basic_get(self.queue, self._on_get_ok, auto_ack=False)

    def _on_stream_end(self, channel: Any, take: Take) -> None:
        """No delivery can follow: answer the take, then serve the next one."""
        self._stream = None
        if take is self._current:
            self._finish(channel, take)

    def _on_get_empty(self, channel: Any) -> None:
        """The queue is empty: answer the current take, or let it wait for a delivery."""
        take = self._current
        if (
            take is not None
            and not take.taken
            and take.wait > 0
            and not take.gave_up
            and not self._waits_over
        ):
            self._waiters.add(channel, take)
            self._next_get(channel)
        elif take is not None:
            self._finish(channel, take)

    def _finish(self, channel: Any, take: Take) -> None:
        """Answer the current take and move on to the next."""
        take.hand_over(channel)
        self._next_get(channel)

    def _on_broker_cancel(self, channel: Any, frame: Any) -> None:
        """The broker cancelled a consumer (its queue was deleted): forget it, and carry on."""
        tag = frame.method.consumer_tag
        if self._stream is not None and self._stream.tag == tag:
            self._stream.cancelled_by_broker()
        else:
            self._waiters.cancelled_by_broker(channel, tag)

    def lost(self, reason: str) -> None:
        """Takes in progress fail; unacknowledged messages go back to the queue with the channel."""
        error = BrokerUnavailable(reason)
        for take in [*([self._current] if self._current is not None else []), *self._queued]:
            fail(take.future, error)
        self._waiters.lost(error)
        self._queued.clear()
        self._current = None
        self._stream = None
        if self._companion is not None:
            self._companion.lost(reason)
