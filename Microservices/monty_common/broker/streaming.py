"""Receiving the rest of a large take in one burst, through a consumer whose prefetch is what it wants."""

from collections.abc import Callable
from typing import Any

from monty_common.broker.takes import Take
from monty_common.broker.timers import Timer

# A stream that receives nothing for this long is over: other consumers took what the count promised.
STREAM_QUIET = 0.05


class TakeStream:
    """Up to `wanted` more messages for one take (no more than the queue said it holds, so a queue
    that keeps filling cannot hold the take, and the takes behind it, longer than that); `on_end`
    runs once no more can arrive.

    The broker sends nothing past the prefetch until acks come, and none come before the stream
    is cancelled: the take never receives more than it wants.
    """

    def __init__(self, channel: Any, queue: str, take: Take, wanted: int, on_end: Callable[[], None]) -> None:
        """Start consuming on `channel` (I/O thread)."""
        self._channel = channel
        self._take = take
        self._on_end = on_end
        self._left = wanted
        channel.basic_qos(prefetch_count=self._left)
        self.tag: str | None = channel.basic_consume(queue, self._on_message)
        self._expect_more()

    def _expect_more(self) -> None:
        """End the stream if nothing arrives for STREAM_QUIET seconds."""
        self._take.stop_timer()
        self._take.timer = Timer(self._channel.connection.ioloop, STREAM_QUIET, self.end)

    def _on_message(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        """Add a message to the take; end the stream once it has all it wants."""
        if self.tag is None or self._left <= 0:
            # Past the end: a delivery already on its way when the take filled its byte budget.
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        self._take.add(method, properties, body)
        self._left -= 1
        if self._left == 0 or self._take.gave_up or self._take.full_by_bytes:
            self.end()
        else:
            self._expect_more()

    def end(self) -> None:
        """Cancel the consumer; `on_end` runs once the broker confirms no more will come."""
        self._take.stop_timer()
        tag, self.tag = self.tag, None
        if tag is None:
            return  # already ending
        if tag not in self._channel.consumer_tags:
            self._on_end()  # the broker cancelled it already
        else:
            self._channel.basic_cancel(tag, callback=lambda _frame: self._on_end())

    def cancelled_by_broker(self) -> None:
        """The broker cancelled the consumer (its queue was deleted): nothing more will come."""
        self._take.stop_timer()
        self.tag = None
        self._on_end()
