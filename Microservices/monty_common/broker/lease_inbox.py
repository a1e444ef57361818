"""A lease holder's private queue: requests to settle its leases arrive there from other gateway
processes, and the answers to its own requests come back there.

The queue is server-named, exclusive and auto-deleted: it lives exactly as long as the holder's
connection, as do the leases (the broker requeues a closed channel's unacked messages). So a
request for a holder that has died, or reconnected since, finds no queue: published mandatory, it
comes back (basic.return), and its leases are known to be gone.

Requests and answers are small JSON documents with a version, so processes of different releases
can tell what they cannot read.
"""

import json
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from typing import Any

import pika

from monty_common.broker.errors import BrokerUnavailable, OutcomeUnknown
from monty_common.broker.jobs import fail, settle
from monty_common.broker.lease_book import Outcome
from monty_common.broker.timers import Timer

log = logging.getLogger(__name__)

REQUEST = "monty.lease.request"
REPLY = "monty.lease.reply"
VERSION = 1


@dataclass(frozen=True)
class Request:
    """What to do (an op's name) to which of a holder's leases, for which user."""

    op: str
    holder: str
    owner: str
    tags: list[int]
    params: dict[str, Any]

    def encode(self) -> bytes:
        """The request as sent."""
        return json.dumps({"v": VERSION, **asdict(self)}).encode()

    @classmethod
    def decode(cls, body: bytes) -> "Request":
        """A request as received (ValueError if it is not one this version reads)."""
        fields = json.loads(body)
        if not isinstance(fields, dict) or fields.pop("v", None) != VERSION:
            raise ValueError("not a lease request of this version")
        try:
            return cls(**fields)
        except TypeError as error:
            raise ValueError(str(error)) from None


# Answers a request with one outcome per lease it named; safe to call from any thread.
Reply = Callable[[list[Outcome]], None]
# Serves a request from another process (I/O thread): (channel, request, reply).
RequestHandler = Callable[[Any, Request, Reply], None]


class Inbox:
    """The holder's private queue, consumed on its channel (the link's companion role)."""

    def __init__(self, on_request: RequestHandler) -> None:
        """No queue until a channel is prepared."""
        self.name: str | None = None  # read from request threads
        self._on_request = on_request
        # Requests forwarded to other holders, by correlation id: the future their answer settles.
        self._pending: dict[str, Future[list[Outcome] | None]] = {}

    def prepare(self, channel: Any, done: Callable[[], None]) -> None:
        """Declare and consume a new private queue, then call `done` (I/O thread)."""
        self._pending.clear()
        channel.add_on_return_callback(self._on_return)

        def declared(frame: Any) -> None:
            queue = frame.method.queue
            channel.basic_consume(
                queue,
                lambda ch, _method, properties, body: self._on_message(ch, properties, body),
                auto_ack=True,  # a request lost with its holder is answered by the requester's timeout
                exclusive=True,
                callback=lambda _frame: self._ready(queue, done),
            )

        # Classic whatever MONTY_QUEUE_TYPE says: quorum queues cannot be server-named, exclusive or
        # transient, and this one must die with its connection (that is how a request learns its
        # holder is gone); replicating it would buy nothing, since its leases die with it too.
        channel.queue_declare("", exclusive=True, auto_delete=True, callback=declared)

    def _ready(self, queue: str, done: Callable[[], None]) -> None:
        """Receipts name this queue from now on."""
        self.name = queue
        done()

    def forward(
        self, channel: Any, request: Request, future: "Future[list[Outcome] | None]", timeout: float
    ) -> None:
        """Send `request` to its holder's queue; `future` gets the outcomes, or None if no such holder."""
        if self.name is None:
            fail(future, BrokerUnavailable("this process's inbox is not open"))
            return
        correlation_id = uuid.uuid4().hex
        self._pending[correlation_id] = future
        # Forget it if no answer ever comes (the request thread has answered 504 by then).
        Timer(channel.connection.ioloop, timeout + 1.0, lambda: self._forget(correlation_id))
        properties = pika.BasicProperties(type=REQUEST, reply_to=self.name, correlation_id=correlation_id)
        channel.basic_publish("", request.holder, request.encode(), properties, mandatory=True)

    def _forget(self, correlation_id: str) -> None:
        """Stop waiting for an answer to the request."""
        self._pending.pop(correlation_id, None)

    def _on_return(self, _channel: Any, _method: Any, properties: Any, _body: bytes) -> None:
        """A request found no holder: its leases went with the holder's connection."""
        if properties.type == REQUEST:
            future = self._pending.pop(properties.correlation_id, None)
            if future is not None:
                settle(future, None)

    def _on_message(self, channel: Any, properties: Any, body: bytes) -> None:
        """An answer to one of our requests, or a request for our leases."""
        if properties.type == REPLY:
            future = self._pending.pop(properties.correlation_id, None)
            if future is not None:
                try:
                    settle(future, _decode_outcomes(body))
                except (ValueError, TypeError) as error:
                    fail(future, OutcomeUnknown(f"unreadable answer from the lease's holder ({error})"))
        elif properties.type == REQUEST and properties.reply_to:
            try:
                request = Request.decode(body)
            except ValueError as error:
                log.warning(
                    "unreadable lease request", extra={"from": properties.reply_to, "error": str(error)}
                )
                return
            loop = channel.connection.ioloop

            def reply(outcomes: list[Outcome]) -> None:
                loop.add_callback_threadsafe(
                    lambda: _reply(channel, properties.reply_to, properties.correlation_id, outcomes)
                )

            self._on_request(channel, request, reply)

    def lost(self, reason: str) -> None:
        """The queue is gone: requests still unanswered may or may not have been carried out."""
        self.name = None
        for future in self._pending.values():
            fail(future, OutcomeUnknown(f"no answer from the lease's holder ({reason})"))
        self._pending.clear()


def _decode_outcomes(body: bytes) -> list[Outcome]:
    """The outcomes an answer holds (ValueError or TypeError if it is not one this version reads)."""
    answer = json.loads(body)
    if not isinstance(answer, dict) or answer.get("v") != VERSION:
        raise ValueError("not a lease answer of this version")
    return [Outcome(**item) for item in answer["outcomes"]]


def _reply(channel: Any, to: str, correlation_id: str, outcomes: list[Outcome]) -> None:
    """Answer a request (not mandatory: a requester that has gone needs no answer) (I/O thread)."""
    if not channel.is_open:
        return  # the requester's timeout answers for us
    body = json.dumps({"v": VERSION, "outcomes": [asdict(outcome) for outcome in outcomes]}).encode()
    channel.basic_publish("", to, body, pika.BasicProperties(type=REPLY, correlation_id=correlation_id))
