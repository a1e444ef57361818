"""Publishing with publisher confirms and the mandatory flag, many messages in flight at once."""

import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import pika
from pika.spec import Basic

from monty_common.broker.alarm_probe import AlarmProbe
from monty_common.broker.confirms import ConfirmTracker
from monty_common.broker.delays import DelayDeclarations, DelayQueue, is_delay_queue
from monty_common.broker.errors import BrokerUnavailable, OutcomeUnknown, PublishRejected
from monty_common.broker.jobs import SETTLE_GRACE, fail, settle
from monty_common.broker.link import AmqpLink
from monty_common.broker.queue_watch import QueueWatch
from monty_common.broker.topology import Topology
from monty_common.settings import BrokerSettings

# Fewest seconds between two moves to a new channel after nacks (see ConfirmedPublisher._renew).
RENEW_INTERVAL = 2.0

Message = tuple[bytes, pika.BasicProperties]


@dataclass(frozen=True)
class Route:
    """Where a message goes: an exchange ("" for the default one) and a routing key (there: a queue)."""

    exchange: str
    routing_key: str

    @classmethod
    def to_queue(cls, queue: str) -> "Route":
        """Straight to `queue`, through the default exchange."""
        return cls("", queue)


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """A message on its way: where to, after how many seconds, and the future its confirm settles."""

    message: Message
    future: "Future[None]"
    route: Route | None
    delay: int


class ConfirmedPublisher:
    """Publishes to the topology's exchange and returns only once the broker has confirmed.

    Request threads call `publish` and `publish_many`; everything else runs on the link's I/O
    thread, as the link's channel role.
    """

    def __init__(self, settings: BrokerSettings, topology: Topology, service: str) -> None:
        """A publisher whose link connects on first use."""
        self.topology = topology
        self.link = AmqpLink(settings, topology, self, "publisher", service)
        self._confirms = ConfirmTracker()
        # While the topology is declared again after a return: the publishes that wait for it.
        self._held: list[_Outgoing] | None = None
        self._delays: DelayDeclarations[_Outgoing] = DelayDeclarations()
        # After a nack: the channel closes once its publishes are settled (see _renew).
        self._renewing = False
        self._renewed_at = -RENEW_INTERVAL
        # Publishes held while a channel was renewed: never sent, they go out on the next one.
        self._carried: list[_Outgoing] = []

    def close(self) -> None:
        """Close the link for good."""
        self.link.close()

    @property
    def unconfirmed(self) -> int:
        """Messages sent and not confirmed yet (a gauge, read from any thread)."""
        return len(self._confirms)

    # --- request threads ---------------------------------------------------------------------------

    def publish(
        self,
        body: bytes,
        properties: pika.BasicProperties,
        timeout: float | None = None,
        route: Route | None = None,
        delay: int = 0,
    ) -> None:
        """Publish `body` persistently routed by the topology's key (or along `route`); return when
        the broker confirms it.

        With `delay` seconds, the message waits that long in the route's delay queue (declared
        first) and only then reaches its route (monty_common/broker/delays.py); the confirm says
        the delay queue holds it.

        Raises PublishRejected when the broker nacks the message or no queue takes it, and
        BrokerUnavailable when the message was not sent (broker down or blocking publishers). When
        it was sent but not confirmed in time, or the connection was lost before its confirm,
        OutcomeUnknown carries its message_id: it may or may not be stored.
        """
        try:
            self.link.call(
                lambda channel, future: self._send(
                    channel, _Outgoing((body, properties), future, route, delay)
                ),
                timeout,
            )
        except OutcomeUnknown as error:
            raise OutcomeUnknown(str(error), properties.message_id) from None

    def publish_many(
        self,
        messages: list[Message],
        timeout: float | None = None,
        route: Route | None = None,
        delay: int = 0,
    ) -> list[BaseException | None]:
        """Publish every message at once (each delayed `delay` seconds, as `publish` does) and wait
        for their confirms together; one outcome each.

        An outcome is None when the broker confirmed the message, or the error `publish` would
        have raised for it alone. Raises BrokerUnavailable, with nothing sent, when the messages
        could not be handed to the broker in time.
        """
        deadline = time.monotonic() + (self.link.settings.broker_timeout if timeout is None else timeout)
        futures: list[Future[None]] = [Future() for _ in messages]

        def send_all(channel: Any, sent: "Future[None]") -> None:
            # Once running, the request can no longer give up and report the batch as not sent.
            if sent.set_running_or_notify_cancel():
                for message, future in zip(messages, futures, strict=True):
                    self._send(channel, _Outgoing(message, future, route, delay))
                settle(sent, None)

        # Once sending has started, each message's own future says what became of it.
        with suppress(OutcomeUnknown):
            self.link.call(send_all, max(0.0, deadline - time.monotonic()))
        return [
            _outcome(future, properties.message_id, deadline)
            for future, (_body, properties) in zip(futures, messages, strict=True)
        ]

    # --- the I/O thread ----------------------------------------------------------------------------

    def prepare(self, channel: Any, done: Callable[[], None]) -> None:
        """Put a new channel in confirm mode and watch for returned (unroutable) messages."""
        self._confirms = ConfirmTracker()
        self._held = None
        self._renewing = False
        self._delays = DelayDeclarations()
        channel.add_on_return_callback(
            lambda _ch, method, properties, body: self._on_return(
                channel, method, properties.message_id, body
            )
        )
        # Ready once the broker has shown whether an alarm blocks publishing (alarm_probe.py).
        channel.confirm_delivery(
            lambda frame: self._on_confirm(channel, frame),
            callback=lambda _frame: AlarmProbe(channel.connection, lambda: self._ready(channel, done)),
        )
        QueueWatch(
            channel.connection,
            self.topology.queue,
            self.link.settings.topology_check_seconds,
            lambda: self._redeclare(channel),
        )

    def _ready(self, channel: Any, done: Callable[[], None]) -> None:
        """The channel serves: send what a renewal carried over to it, then take jobs."""
        carried, self._carried = self._carried, []
        self._send_all(channel, carried)
        done()

    def _send(self, channel: Any, out: _Outgoing) -> None:
        """Publish one message and remember it until its confirm arrives (a delayed one once its
        delay queue is declared)."""
        to = out.route or Route(self.topology.exchange, self.topology.routing_key)
        delay_queue = (
            DelayQueue(to.exchange, to.routing_key, out.delay, self.topology.queue_type)
            if out.delay > 0
            else None
        )
        if self.link.is_blocked:
            fail(out.future, BrokerUnavailable("the broker is blocking publishers (resource alarm)"))
        elif self._held is not None:
            self._held.append(out)
        elif delay_queue is not None and not self._delays.ready(delay_queue):
            self._delays.declare_then(channel, delay_queue, out, lambda outs: self._send_all(channel, outs))
        elif out.future.set_running_or_notify_cancel():  # else its request has given up: not sent
            if delay_queue is not None:
                to = Route.to_queue(delay_queue.name)
            body, properties = out.message
            channel.basic_publish(to.exchange, to.routing_key, body, properties, mandatory=True)
            self._confirms.sent(out.future, properties.message_id, body)

    def _send_all(self, channel: Any, outs: list[_Outgoing]) -> None:
        """Send messages that waited (for the topology, or a delay queue), in order."""
        for out in outs:
            self._send(channel, out)

    def _on_return(self, channel: Any, method: Any, message_id: str | None, body: bytes) -> None:
        """An unroutable message came back: its queue or binding was removed behind our back.

        Declare the topology again, holding new publishes meanwhile, so the messages after this
        one are routed; a delay queue is declared again before its next message.
        """
        self._confirms.returned(message_id, body)
        if is_delay_queue(method.exchange, method.routing_key):
            self._delays.forget(method.routing_key)
        else:
            self._redeclare(channel)

    def _redeclare(self, channel: Any) -> None:
        """Declare the topology again (once at a time), holding new publishes until it is back."""
        if self._held is None and channel.is_open:
            self._held = []
            self.topology.declare(channel, lambda: self._on_redeclared(channel))

    def _on_redeclared(self, channel: Any) -> None:
        """The topology is back: send what was held meanwhile (unless the channel is being renewed)."""
        if self._renewing:
            return
        held, self._held = self._held or [], None
        self._send_all(channel, held)

    def _on_confirm(self, channel: Any, frame: Any) -> None:
        """Settle the messages an ack or nack covers; after a nack, move to a new channel."""
        method = frame.method
        acked = isinstance(method, Basic.Ack)
        self._confirms.confirmed(method.delivery_tag, bool(method.multiple), acked)
        if not acked:
            self._renew(channel)
        elif self._renewing and not self._confirms:
            channel.close()

    def _renew(self, channel: Any) -> None:
        """Hold new publishes, and close `channel` once what was sent on it is settled (or after the
        broker timeout), so the link opens a new one; held publishes go out on the new one (a
        request that gave up meanwhile is answered not sent).

        A quorum queue that lost its leader nacks a channel's publishes, and keeps nacking that
        channel's later ones after a new leader is elected (RabbitMQ 3.10); a new channel publishes
        again within a second. Only for quorum queues, at most every RENEW_INTERVAL seconds.
        Publishes already sent keep their own outcome (a nack for a full queue is answered as such).
        """
        if self._renewing or not channel.is_open or self.topology.queue_type != "quorum":
            return  # a classic queue's nack (a full queue) says nothing about the channel
        now = time.monotonic()
        if now - self._renewed_at < RENEW_INTERVAL:
            return  # a quorum queue kept full nacks every publish: renew at this pace, not per nack
        self._renewed_at = now
        self._renewing = True
        if self._held is None:
            self._held = []
        if not self._confirms:
            channel.close()
        else:
            timeout = self.link.settings.broker_timeout
            channel.connection.ioloop.call_later(timeout, lambda: channel.is_open and channel.close())

    def lost(self, reason: str) -> None:
        """Sent messages without a confirm may or may not be stored; held ones were never sent: after
        a renewal they wait for the next channel (until their requests give up), else they fail."""
        self._confirms.lost(reason)
        held = [*self._carried, *(self._held or [])]
        self._carried = held if self._renewing else []
        unsent = [*self._delays.abandon(), *([] if self._renewing else held)]
        for out in unsent:
            fail(out.future, BrokerUnavailable(reason))
        self._held = None


def _outcome(future: "Future[None]", message_id: str | None, deadline: float) -> BaseException | None:
    """What became of one message of a batch, waiting for its confirm until `deadline`."""
    try:
        future.result(timeout=max(0.0, deadline - time.monotonic()) + SETTLE_GRACE)
    except TimeoutError:
        if future.cancel():
            return BrokerUnavailable("the message was not sent in time")
        return OutcomeUnknown("the broker did not confirm the message in time", message_id)
    except OutcomeUnknown as error:
        return OutcomeUnknown(str(error), message_id)
    except (BrokerUnavailable, PublishRejected) as error:
        return error
    return None
