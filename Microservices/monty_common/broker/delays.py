"""Delayed delivery without a broker plugin: per target and delay, a queue whose messages expire into
the target.

A message delayed N seconds is published, through the default exchange, to the durable queue
`monty.delay.<N>s.<exchange>.<routing key>.<hash>` (`amq.default` naming the default exchange; the
hash tells apart targets whose names read alike, and the readable part is cut to keep the name
within 255 bytes); with MONTY_QUEUE_TYPE=quorum, to the quorum queue `monty.delay.quorum.<N>s...`
(another name: switching the type never meets a delay queue of the other type). The queue holds
it for N seconds (x-message-ttl), then RabbitMQ dead-letters it to the target exchange with the
target routing key, where it is routed as if published then. All messages of one queue have the
same TTL, so they expire in the order they came, each on time (a queue expires messages from its
head).

The costs: one queue per target and distinct delay in use, and one declaration per queue and
channel every REDECLARE_SECONDS while it is used. An unused delay queue deletes itself (x-expires)
IDLE_SECONDS after it outlives its last message; publishing does not count as use for x-expires, so
the publisher declares a queue again when its last declaration is REDECLARE_SECONDS old: a queue
then never expires with a message still in it. RabbitMQ moves expired messages to their target by
itself, without publisher confirms: a message whose target routes nowhere at its time is dropped,
and a message arrives with an x-death header naming its delay queue.

Quorum delay queues differ in two ways. RabbitMQ does not renew a quorum queue's x-expires lease
when it is declared again, so one would expire with messages in it: they have no x-expires and stay
until an operator deletes them (`rabbitmqctl delete_queue`; names start `monty.delay.quorum.`).
They dead-letter at-least-once (queue_types.py): an expired message stays in its delay queue until
the target confirms it, so one whose target routes nowhere is kept (and retried), not dropped.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from monty_common.broker.queue_types import QueueType, durable_queue_arguments

PREFIX = "monty.delay."
# Before the delay in the names of quorum delay queues.
QUORUM_INFIX = "quorum."
NAME_MAX_BYTES = 255
# How long a delay queue outlives its delay unused before it deletes itself.
IDLE_SECONDS = 3600
# How old a declaration may be when a message is published to its queue (well below IDLE_SECONDS).
REDECLARE_SECONDS = 600

T = TypeVar("T")


@dataclass(frozen=True)
class DelayQueue:
    """The queue that holds messages `seconds` before passing them to `exchange` with `routing_key`."""

    exchange: str
    routing_key: str
    seconds: int
    queue_type: QueueType = "classic"

    @cached_property
    def name(self) -> str:
        """The queue's name: readable, unique to its target and delay, at most 255 bytes."""
        target = f"{self.exchange}\0{self.routing_key}".encode()
        digest = hashlib.sha256(target).hexdigest()[:16]
        infix = QUORUM_INFIX if self.queue_type == "quorum" else ""
        head = f"{PREFIX}{infix}{self.seconds}s."
        readable = f"{self.exchange or 'amq.default'}.{self.routing_key}"
        room = NAME_MAX_BYTES - len(head) - len(digest) - 1
        readable = readable.encode()[:room].decode("utf-8", errors="ignore")
        return f"{head}{readable}.{digest}"

    @property
    def arguments(self) -> dict[str, Any]:
        """The queue's arguments: hold each message `seconds`, then dead-letter it to the target."""
        arguments = durable_queue_arguments(self.queue_type, self.exchange, self.routing_key)
        arguments["x-message-ttl"] = self.seconds * 1000
        if self.queue_type == "classic":
            arguments["x-expires"] = (self.seconds + IDLE_SECONDS) * 1000
        return arguments

    def declare(self, channel: Any, done: Callable[[], None]) -> None:
        """Declare the queue on `channel` (I/O thread), then call `done`."""
        channel.queue_declare(
            queue=self.name, durable=True, arguments=self.arguments, callback=lambda _frame: done()
        )


def is_delay_queue(exchange: str, routing_key: str) -> bool:
    """Whether a message published along this route went to a delay queue."""
    return exchange == "" and routing_key.startswith(PREFIX)


class DelayDeclarations(Generic[T]):
    """The delay queues one channel has declared, and what waits for a declaration (I/O thread only)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """A new channel: nothing declared."""
        self._clock = clock
        self._declared: dict[str, float] = {}  # name -> when its declaration was sent
        self._waiting: dict[str, list[T]] = {}

    def ready(self, queue: DelayQueue) -> bool:
        """Whether messages may go to `queue` now: declared on this channel, recently enough."""
        declared = self._declared.get(queue.name)
        return declared is not None and self._clock() - declared < REDECLARE_SECONDS

    def declare_then(self, channel: Any, queue: DelayQueue, item: T, send: Callable[[list[T]], None]) -> None:
        """Hold `item` until `queue` is declared (declaring it unless that is under way), then `send`
        what waited for it."""
        waiting = self._waiting.get(queue.name)
        if waiting is not None:
            waiting.append(item)
            return
        self._waiting[queue.name] = [item]
        sent_at = self._clock()

        def declared() -> None:
            self._declared[queue.name] = sent_at
            send(self._waiting.pop(queue.name, []))

        queue.declare(channel, declared)

    def forget(self, name: str) -> None:
        """A message to queue `name` came back: it is gone, declare it again before the next."""
        self._declared.pop(name, None)

    def abandon(self) -> list[T]:
        """The channel is gone: everything that waited for a declaration (never sent)."""
        waiting = [item for items in self._waiting.values() for item in items]
        self._waiting.clear()
        return waiting
