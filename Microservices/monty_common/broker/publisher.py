"""Publishing with publisher confirms and the mandatory flag, many messages in flight at once."""

import time
from concurrent.futures import Future
from contextlib import suppress
from typing import Any

import pika
from pika.spec import Basic

from monty_common.broker.errors import BrokerUnavailable, OutcomeUnknown, PublishRejected
from monty_common.broker.link import SETTLE_GRACE, AmqpLink, fail, settle


class ConfirmedPublisher(AmqpLink):
    """Publishes to the topology's exchange and returns only once the broker has confirmed."""

    role = "publisher"

    def _reset_state(self) -> None:
        """Also forget the messages awaiting confirmation."""
        super()._reset_state()
        self._next_tag = 0
        # delivery tag -> (future, message_id), in publishing order.
        self._unconfirmed: dict[int, tuple[Future[None], str | None]] = {}
        self._returned: set[str | None] = set()
        self._redeclaring = False
        # Publishes that wait for the topology to be declared again.
        self._held: list[tuple[bytes, pika.BasicProperties, Future[None]]] = []

    def publish(self, body: bytes, properties: pika.BasicProperties, timeout: float | None = None) -> None:
        """Publish `body` persistently routed by the topology's key; return when the broker confirms it.

        Raises PublishRejected when the broker nacks the message or no queue takes it, and
        BrokerUnavailable when the message was not sent (broker down or blocking publishers). When
        it was sent but not confirmed in time, or the connection was lost before its confirm,
        OutcomeUnknown carries its message_id: it may or may not be stored.
        """
        try:
            self.call(lambda channel, future: self._publish_now(channel, body, properties, future), timeout)
        except OutcomeUnknown as error:
            raise OutcomeUnknown(str(error), properties.message_id) from None

    def publish_many(
        self, messages: list[tuple[bytes, pika.BasicProperties]], timeout: float | None = None
    ) -> list[BaseException | None]:
        """Publish every message at once and wait for their confirms together; one outcome each.

        An outcome is None when the broker confirmed the message, or the error `publish` would
        have raised for it alone. Raises BrokerUnavailable, with nothing sent, when the messages
        could not be handed to the broker in time.
        """
        deadline = time.monotonic() + (self.settings.broker_timeout if timeout is None else timeout)
        futures: list[Future[None]] = [Future() for _ in messages]

        def send_all(channel: Any, sent: "Future[None]") -> None:
            # Once running, the request can no longer give up and report the batch as not sent.
            if not sent.set_running_or_notify_cancel():
                return
            for (body, properties), future in zip(messages, futures, strict=True):
                self._publish_now(channel, body, properties, future)
            settle(sent, None)

        # Once sending has started, each message's own future says what became of it.
        with suppress(OutcomeUnknown):
            self.call(send_all, max(0.0, deadline - time.monotonic()))
        return [
            self._outcome(future, properties.message_id, deadline)
            for future, (_b, properties) in zip(futures, messages, strict=True)
        ]

    @staticmethod
    def _outcome(future: "Future[None]", message_id: str | None, deadline: float) -> BaseException | None:
        """What became of one message of a batch, waiting for its confirm until `deadline`."""
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()) + SETTLE_GRACE)
        except TimeoutError:
            if future.cancel():
                return BrokerUnavailable("the message was not sent in time")
            return OutcomeUnknown("the broker did not confirm the message in time", message_id)
        except (BrokerUnavailable, PublishRejected) as error:
            return error
        except OutcomeUnknown as error:
            return OutcomeUnknown(str(error), message_id)
        return None

    def _publish_now(
        self, channel: Any, body: bytes, properties: pika.BasicProperties, future: "Future[None]"
    ) -> None:
        """Publish on the I/O thread and remember the message until its confirm arrives."""
        if self._blocked:
            fail(future, BrokerUnavailable("the broker is blocking publishers (resource alarm)"))
            return
        if self._redeclaring:
            self._held.append((body, properties, future))
            return
        if not future.set_running_or_notify_cancel():
            return  # its request has already been answered: the message is not sent
        channel.basic_publish(
            exchange=self.topology.exchange,
            routing_key=self.topology.routing_key,
            body=body,
            properties=properties,
            mandatory=True,
        )
        self._next_tag += 1
        self._unconfirmed[self._next_tag] = (future, properties.message_id)

    def _prepare_channel(self, channel: Any, done: Any) -> None:
        """Put the channel in confirm mode and watch for returned (unroutable) messages."""
        self._next_tag = 0
        self._unconfirmed.clear()
        self._returned.clear()
        self._redeclaring = False
        self._held.clear()
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(self._on_confirm, callback=lambda _frame: done())

    def _on_return(self, channel: Any, _method: Any, properties: Any, _body: bytes) -> None:
        """The broker returns an unroutable mandatory message before it confirms it.

        The queue or its binding was removed behind our back: declare the topology again, so the
        messages after this one are routed.
        """
        self._returned.add(properties.message_id)
        if not self._redeclaring:
            self._redeclaring = True
            self.topology.declare(channel, lambda: self._on_redeclared(channel))

    def _on_redeclared(self, channel: Any) -> None:
        """The topology is back: send what was held meanwhile."""
        self._redeclaring = False
        held, self._held = self._held, []
        for body, properties, future in held:
            if not future.cancelled():
                self._publish_now(channel, body, properties, future)

    def _on_confirm(self, frame: Any) -> None:
        """Settle every message that an ack or nack (possibly `multiple`) covers."""
        method = frame.method
        acked = isinstance(method, Basic.Ack)
        last = method.delivery_tag
        tags = [t for t in self._unconfirmed if t <= last] if method.multiple else [last]
        for tag in tags:
            entry = self._unconfirmed.pop(tag, None)
            if entry is None:
                continue
            future, message_id = entry
            if not acked:
                fail(future, PublishRejected("nacked"))
            elif message_id in self._returned:
                self._returned.discard(message_id)
                fail(future, PublishRejected("unroutable"))
            else:
                settle(future, None)

    def _on_link_lost(self, reason: str) -> None:
        """Sent messages without a confirm may or may not be stored; held ones were never sent."""
        for future, message_id in self._unconfirmed.values():
            fail(future, OutcomeUnknown(f"{reason} before the broker confirmed the message", message_id))
        for _body, _properties, future in self._held:
            fail(future, BrokerUnavailable(reason))
        self._unconfirmed.clear()
        self._held.clear()
        self._returned.clear()
