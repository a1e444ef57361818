"""The benchmark's own exchange and queue on the broker: declared, measured, emptied, deleted."""

import uuid
from dataclasses import dataclass

import pika

from monty_common.broker.topology import dead_letter_queue_of


@dataclass(frozen=True)
class BenchQueue:
    """A durable direct exchange and a durable queue bound to it, named for one harness run."""

    amqp_url: str
    exchange: str
    queue: str
    routing_key: str

    @classmethod
    def unique(cls, amqp_url: str) -> "BenchQueue":
        """Names no other run, test or deployment uses (never monty.exchange / monty-queue)."""
        tag = uuid.uuid4().hex[:12]
        return cls(amqp_url, f"bench.{tag}.exchange", f"bench.{tag}.queue", "bench")

    def _connection(self) -> pika.BlockingConnection:
        """A short-lived connection for one administrative step."""
        return pika.BlockingConnection(pika.URLParameters(self.amqp_url))

    def declare(self) -> None:
        """Declare exchange, queue and binding exactly as the exchange service's topology does."""
        connection = self._connection()
        try:
            channel = connection.channel()
            channel.exchange_declare(exchange=self.exchange, exchange_type="direct", durable=True)
            channel.queue_declare(queue=self.queue, durable=True)
            channel.queue_bind(queue=self.queue, exchange=self.exchange, routing_key=self.routing_key)
        finally:
            connection.close()

    def depth(self) -> int:
        """Messages ready in the queue (a passive declare: it never creates the queue)."""
        connection = self._connection()
        try:
            frame = connection.channel().queue_declare(queue=self.queue, passive=True)
            count: int = frame.method.message_count
            return count
        finally:
            connection.close()

    def purge(self) -> None:
        """Drop every ready message, so a publish run starts from an empty queue."""
        connection = self._connection()
        try:
            connection.channel().queue_purge(self.queue)
        finally:
            connection.close()

    def delete(self) -> None:
        """Delete the queue, the dead-letter queue the gateway declares beside it, and the exchange."""
        connection = self._connection()
        try:
            channel = connection.channel()
            channel.queue_delete(self.queue)
            channel.queue_delete(dead_letter_queue_of(self.queue))
            channel.exchange_delete(self.exchange)
        finally:
            connection.close()
