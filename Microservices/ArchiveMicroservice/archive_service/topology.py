"""The archive's place on the broker: its queue bound to the exchange, and where poison messages go.

    exchange (direct, durable) --routing key--> archive queue (durable)
    archive queue --rejected without requeue--> dead-letter exchange (fanout, durable) --> dead queue

The archive queue is declared with x-dead-letter-exchange, so a message the worker rejects is kept
in the dead queue for someone to look at, never dropped and never redelivered forever. Both queues
are of MONTY_QUEUE_TYPE; a quorum archive queue dead-letters at-least-once. A queue of the same
name declared earlier with other arguments (or the other type) makes the declaration fail: drain
it and delete it first.
"""

from dataclasses import dataclass
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel
from pika.exchange_type import ExchangeType

from archive_service.settings import ArchiveSettings
from monty_common.broker.queue_types import DurableQueue, QueueType, durable_queue_arguments


@dataclass(frozen=True)
class ArchiveTopology:
    """Names of the archive's exchanges and queues."""

    exchange: str
    routing_key: str
    queue: str
    dead_letter_exchange: str
    dead_letter_queue: str
    queue_type: QueueType = "classic"

    @classmethod
    def of(cls, settings: ArchiveSettings) -> "ArchiveTopology":
        """The topology `settings` name."""
        return cls(
            exchange=settings.exchange,
            routing_key=settings.routing_key,
            queue=settings.archive_queue,
            dead_letter_exchange=settings.archive_dead_letter_exchange,
            dead_letter_queue=settings.archive_dead_letter_queue,
            queue_type=settings.queue_type,
        )

    def durable_queues(self) -> list[DurableQueue]:
        """The queues `declare` declares, with their arguments (dead-letter side first)."""
        return [
            DurableQueue(self.dead_letter_queue, durable_queue_arguments(self.queue_type)),
            DurableQueue(self.queue, durable_queue_arguments(self.queue_type, self.dead_letter_exchange)),
        ]

    def declare(self, channel: BlockingChannel) -> None:
        """Declare everything, dead-letter side first so no rejected message is ever unroutable."""
        dead, archive = self.durable_queues()
        channel.exchange_declare(self.dead_letter_exchange, ExchangeType.fanout, durable=True)
        channel.queue_declare(dead.name, durable=True, arguments=dead.arguments)
        channel.queue_bind(dead.name, self.dead_letter_exchange)
        channel.exchange_declare(self.exchange, ExchangeType.direct, durable=True)
        channel.queue_declare(archive.name, durable=True, arguments=archive.arguments)
        channel.queue_bind(archive.name, self.exchange, routing_key=self.routing_key)

    def ready_count(self, channel: BlockingChannel) -> int:
        """Messages waiting in the archive queue (a passive declare: fails if the queue is missing)."""
        frame: Any = channel.queue_declare(self.queue, passive=True)
        count: int = frame.method.message_count
        return count
