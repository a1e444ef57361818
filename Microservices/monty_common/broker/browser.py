"""Reading a queue without consuming it, on a short-lived connection of its own.

AMQP has no peek. A browse takes messages with basic.get and manual ack, holds them unacked, and
acks only those it means to remove; when it ends, its connection closes and the broker gives every
message still held back to the queue (a classic queue puts each back at its position, marked
redelivered). While held, a message is invisible to everyone else.

Each browse opens a pika BlockingConnection in the calling thread and closes it before returning.
Browses are rare (admin calls), so a connection each costs little; messages held on a connection of
their own cannot disturb the long-lived links that publish and consume (no prefetch or channel of
theirs is taken); and should the process die mid-browse, the broker closes the connection and the
messages go back all the same. Nothing is kept between calls, so nothing crosses threads or a fork.
"""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError, ChannelClosedByBroker

from monty_common.broker.addresses import BrokerAddresses, NoAddressAnswered, connect_blocking
from monty_common.broker.connection import describe_error, without_address
from monty_common.broker.errors import BrokerUnavailable
from monty_common.broker.takes import Delivery
from monty_common.settings import BrokerSettings

log = logging.getLogger(__name__)

NOT_FOUND = 404


@dataclass(frozen=True)
class BrowsedMessage:
    """A message a browse holds: its delivery tag, and the message with all its properties."""

    tag: int
    redelivered: bool
    properties: pika.BasicProperties
    body: bytes

    def delivery(self) -> Delivery:
        """The message as a take would have handed it out."""
        headers = self.properties.headers
        return Delivery(
            body=self.body,
            content_type=self.properties.content_type,
            message_id=self.properties.message_id,
            timestamp=self.properties.timestamp,
            redelivered=self.redelivered,
            remaining=None,
            headers=dict(headers) if isinstance(headers, dict) else {},
        )


class Browse:
    """One browse of a queue: messages taken oldest first and held until acked or given back."""

    def __init__(self, channel: BlockingChannel | None, queue: str, total: int, parameters: Any) -> None:
        """Browse `queue` on `channel` (None: the queue does not exist); it held `total` messages."""
        self._channel = channel
        self._queue = queue
        self._parameters = parameters
        self.total = total

    def next(self) -> BrowsedMessage | None:
        """The next message, held; None once the queue has no more to give."""
        if self._channel is None:
            return None
        try:
            method, properties, body = self._channel.basic_get(self._queue, auto_ack=False)
        except AMQPError as error:
            raise _failed(error, self._parameters) from None
        if method is None:
            return None
        return BrowsedMessage(method.delivery_tag, bool(method.redelivered), properties, body)

    def ack(self, message: BrowsedMessage) -> None:
        """Remove a held message from the queue for good."""
        if self._channel is None:
            raise BrokerUnavailable("nothing was taken from a queue that does not exist")
        try:
            self._channel.basic_ack(message.tag)
        except AMQPError as error:
            raise _failed(error, self._parameters) from None

    def keep_alive(self) -> None:
        """Answer the broker's heartbeats while the caller waits on something else."""
        if self._channel is not None:
            try:
                self._channel.connection.process_data_events(0)
            except AMQPError as error:
                raise _failed(error, self._parameters) from None


class QueueBrowser:
    """Opens a browse of any queue on a connection of its own, one per call."""

    def __init__(self, settings: BrokerSettings, service: str) -> None:
        """A browser connecting with `settings`; nothing connects until a browse."""
        self.settings = settings
        self._label = f"monty {service} browser"
        self._closed = False
        self._addresses = BrokerAddresses(settings.broker_urls)

    def close(self) -> None:
        """Refuse new browses (browses under way end by themselves, giving back what they hold)."""
        self._closed = True

    @contextmanager
    def browse(self, queue: str) -> Iterator[Browse]:
        """A browse of `queue`; leaving the block closes its connection and gives back what it holds.

        Raises BrokerUnavailable when the broker cannot be reached or fails meanwhile.
        """
        if self._closed:
            raise BrokerUnavailable("the broker link is closed (the server is stopping)")
        try:
            connection, _url, parameters, _failures = connect_blocking(
                self.settings, f"{self._label} pid {os.getpid()}", self._addresses
            )
        except NoAddressAnswered as error:
            for failure in error.failures:
                log.warning(
                    "broker unreachable for a browse", extra={"broker": failure.url, "error": failure.reason}
                )
            raise BrokerUnavailable(f"cannot reach the broker: {error.public}") from None
        try:
            yield self._open(connection, queue, parameters)
        finally:
            with suppress(Exception):  # closing a lost connection: the broker gives back all the same
                if connection.is_open:
                    connection.close()

    def _open(self, connection: pika.BlockingConnection, queue: str, parameters: Any) -> Browse:
        """A browse of `queue` on a new channel of `connection`, knowing how many messages it holds."""
        try:
            channel = connection.channel()
            frame: Any = channel.queue_declare(queue, passive=True)
        except ChannelClosedByBroker as error:
            if error.reply_code == NOT_FOUND:
                return Browse(None, queue, 0, parameters)  # never declared: it holds nothing
            raise _failed(error, parameters) from None
        except AMQPError as error:
            raise _failed(error, parameters) from None
        return Browse(channel, queue, int(frame.method.message_count), parameters)


def _failed(error: BaseException, parameters: Any) -> BrokerUnavailable:
    """What the caller of a browse whose channel or connection failed is told (held messages go back)."""
    return BrokerUnavailable(f"the browse failed ({without_address(describe_error(error), parameters)})")
