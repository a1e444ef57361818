"""Giving up a message the archive can never store: a copy saying why goes to the dead-letter queue."""

import logging
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.exceptions import AMQPChannelError

from monty_common.dead_letters import dead_letter_properties

log = logging.getLogger(__name__)


class DeadLetters:
    """Publishes dead letters with their reason, confirmed, on a channel of their own."""

    def __init__(self, connection: BlockingConnection, exchange: str) -> None:
        """Open the confirming channel on `connection`; `exchange` is the dead-letter exchange."""
        self._exchange = exchange
        self._channel = connection.channel()
        self._channel.confirm_delivery()

    def give_up(
        self, consumer: BlockingChannel, method: Any, properties: Any, body: bytes, reason: str
    ) -> None:
        """Put a copy with `reason` in the dead-letter queue, then ack the original on `consumer`.

        Should the copy not be confirmed, the original is rejected instead: the queue's own
        dead-lettering keeps it (without the reason), so it is never dropped nor redelivered forever.
        """
        log.warning(
            "message dead-lettered", extra={"reason": reason, "message_id": str(properties.message_id)}
        )
        try:
            self._channel.basic_publish(
                self._exchange, "", body, dead_letter_properties(properties, reason), mandatory=True
            )
        except AMQPChannelError as error:  # nacked, unroutable, or the channel failed
            log.warning("dead letter not confirmed; rejecting instead", extra={"error": repr(error)})
            consumer.basic_reject(method.delivery_tag, requeue=False)
            return
        consumer.basic_ack(method.delivery_tag)
