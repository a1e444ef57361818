"""Long polling: takes that found the queue empty wait for a delivery, served by a consumer that
runs only while someone waits.

Nothing polls: a waiting request costs a timer on the I/O loop and a request thread blocked on
its future. The consumer has a prefetch of one, hands each delivery to the oldest waiter, and is
cancelled once nobody waits, so the queue's messages stay for basic.get.
"""

from collections import deque
from typing import Any

from monty_common.broker.errors import BrokerUnavailable
from monty_common.broker.jobs import fail
from monty_common.broker.takes import Take
from monty_common.broker.timers import Timer


class Waiters:
    """The takes waiting on one channel for a message, oldest first, and the consumer serving them."""

    def __init__(self, queue: str) -> None:
        """Nobody waits yet."""
        self._queue = queue
        self._takes: deque[Take] = deque()
        self._consumer_tag: str | None = None
        self._cancelling = False

    def __len__(self) -> int:
        """How many takes wait."""
        return len(self._takes)

    def add(self, channel: Any, take: Take) -> None:
        """Let `take` wait up to take.wait seconds for a delivery, consuming the queue meanwhile."""
        take.timer = Timer(channel.connection.ioloop, take.wait, lambda: self._on_wait_over(channel, take))
        self._takes.append(take)
        self._consume(channel)

    def _on_wait_over(self, channel: Any, take: Take) -> None:
        """Nothing came in time: answer the take with nothing."""
        take.timer = None
        if take in self._takes:
            self._takes.remove(take)
            take.hand_over(channel)
            self._stop_consuming_when_idle(channel)

    def end_all(self, channel: Any) -> None:
        """Answer every waiting take now with nothing (the server is stopping)."""
        for take in list(self._takes):
            take.stop_timer()
            self._on_wait_over(channel, take)

    def _consume(self, channel: Any) -> None:
        """Consume the queue, unless already consuming (or a cancel is on its way; it restarts after)."""
        if self._consumer_tag is None and not self._cancelling:
            channel.basic_qos(prefetch_count=1)  # a stream may have set another for its own consumer
            self._consumer_tag = channel.basic_consume(self._queue, self._on_delivery)

    def _on_delivery(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        """Give the delivery to the oldest take still waiting, or put it back."""
        kept = False
        while self._takes:
            take = self._takes.popleft()
            if not take.gave_up:
                take.add(method, properties, body)
                take.hand_over(channel)
                kept = take.keep is not None
                break
            take.stop_timer()
        else:
            channel.basic_nack(method.delivery_tag, requeue=True)
        if kept:
            # Kept unacknowledged (a lease), the delivery fills this consumer's prefetch of one:
            # whoever waits next needs a new consumer.
            self._cancel(channel)
        else:
            self._stop_consuming_when_idle(channel)

    def _stop_consuming_when_idle(self, channel: Any) -> None:
        """Cancel the consumer once nobody waits."""
        if not self._takes:
            self._cancel(channel)

    def _cancel(self, channel: Any) -> None:
        """Cancel the consumer; if takes still wait then, another starts for them."""
        if self._consumer_tag is None or self._cancelling:
            return
        if self._consumer_tag not in channel.consumer_tags:
            self._consumer_tag = None  # the broker cancelled it already
            if self._takes:
                self._consume(channel)
            return
        self._cancelling = True
        tag = self._consumer_tag
        channel.basic_cancel(tag, callback=lambda _frame: self._on_cancelled(channel, tag))

    def _on_cancelled(self, channel: Any, tag: str) -> None:
        """Consumer `tag` is gone; if it was the current one, start another for whoever waits now."""
        if tag != self._consumer_tag:
            return  # a late answer about a consumer already replaced (the broker cancelled it first)
        self._consumer_tag = None
        self._cancelling = False
        if self._takes:
            self._consume(channel)

    def cancelled_by_broker(self, channel: Any, tag: str) -> None:
        """The broker cancelled a consumer (its queue was deleted): if ours, consume anew for the waiters."""
        self._on_cancelled(channel, tag)

    def lost(self, error: BrokerUnavailable) -> None:
        """The channel is gone: every waiting take fails (unacked deliveries return to the queue)."""
        for take in self._takes:
            fail(take.future, error)
        self._takes.clear()
        self._consumer_tag = None
        self._cancelling = False
