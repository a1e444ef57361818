"""The exchange, queue and binding a link declares once per connection."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pika.exchange_type import ExchangeType

from monty_common.broker.queue_types import DurableQueue, QueueType, durable_queue_arguments


@dataclass(frozen=True)
class Topology:
    """A durable direct exchange with one durable queue bound to it by one routing key."""

    exchange: str
    queue: str
    routing_key: str
    # Where messages consumers kept failing on wait (declared durable too), if this link needs it.
    dead_letter_queue: str | None = None
    # MONTY_QUEUE_TYPE: of the queue, its dead-letter queue and the delay queues in front of it.
    queue_type: QueueType = "classic"

    def durable_queues(self) -> list[DurableQueue]:
        """The queues `declare` declares, with their arguments."""
        arguments = durable_queue_arguments(self.queue_type)
        queues = [DurableQueue(self.queue, arguments)]
        if self.dead_letter_queue is not None:
            queues.append(DurableQueue(self.dead_letter_queue, arguments))
        return queues

    def declare(self, channel: Any, done: Callable[[], None]) -> None:
        """Declare exchange, queue and binding on `channel` in order, then call `done` on the I/O thread."""
        channel.exchange_declare(
            exchange=self.exchange,
            exchange_type=ExchangeType.direct,
            durable=True,
            callback=lambda _frame: channel.queue_declare(
                queue=self.queue,
                durable=True,
                arguments=durable_queue_arguments(self.queue_type),
                callback=lambda _frame: channel.queue_bind(
                    queue=self.queue,
                    exchange=self.exchange,
                    routing_key=self.routing_key,
                    callback=lambda _frame: self._declare_dead_letters(channel, done),
                ),
            ),
        )

    def _declare_dead_letters(self, channel: Any, done: Callable[[], None]) -> None:
        """Declare the dead-letter queue, if any, then call `done`."""
        if self.dead_letter_queue is None:
            done()
        else:
            channel.queue_declare(
                queue=self.dead_letter_queue,
                durable=True,
                arguments=durable_queue_arguments(self.queue_type),
                callback=lambda _frame: done(),
            )


def dead_letter_queue_of(queue: str) -> str:
    """The name of `queue`'s dead-letter queue."""
    return f"{queue}.dead-letter"
