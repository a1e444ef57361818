"""Asking the broker whether the queues a service declares exist with the arguments it would give them.

A passive declare says whether a queue exists but not its type, and a declaration creates what is
missing; so each queue is first looked for passively, and only an existing one is declared again
with the configured arguments: the broker refuses that (406) when they differ, e.g. a classic queue
where MONTY_QUEUE_TYPE now says quorum. Nothing is created.
"""

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from pika.adapters.blocking_connection import BlockingConnection
from pika.exceptions import AMQPError, ChannelClosedByBroker

from monty_common.broker.queue_types import DurableQueue, QueueMismatch, queue_mismatch

NOT_FOUND = 404


@dataclass(frozen=True)
class QueueCheck:
    """What the broker said of one queue: missing, or existing with the same or other arguments."""

    queue: DurableQueue
    exists: bool
    mismatch: QueueMismatch | None = None


def check_queues(connection: BlockingConnection, queues: Iterable[DurableQueue]) -> list[QueueCheck]:
    """Check each queue on a channel of its own (a refusal closes its channel); raises AMQPError when
    the broker fails otherwise."""
    return [_check(connection, queue) for queue in queues]


def _check(connection: BlockingConnection, queue: DurableQueue) -> QueueCheck:
    """Check one queue."""
    channel = connection.channel()
    try:
        channel.queue_declare(queue.name, passive=True)
    except ChannelClosedByBroker as error:
        if error.reply_code == NOT_FOUND:
            return QueueCheck(queue, exists=False)
        raise
    mismatch = _declare(connection, channel, queue.name, queue.arguments)
    if mismatch is not None and mismatch.argument != "x-queue-type":
        # The broker names the first argument that differs; the type, if it differs too, matters more.
        type_only = {"x-queue-type": queue.queue_type}
        by_type = _declare(connection, connection.channel(), queue.name, type_only)
        if by_type is not None and by_type.argument == "x-queue-type":
            mismatch = by_type
    return QueueCheck(queue, exists=True, mismatch=mismatch)


def _declare(
    connection: BlockingConnection, channel: Any, name: str, arguments: dict[str, Any]
) -> QueueMismatch | None:
    """Declare an existing queue with `arguments` on `channel` (closed after): None if the broker
    agrees, the mismatch if it refuses them."""
    try:
        channel.queue_declare(name, durable=True, arguments=arguments)
    except ChannelClosedByBroker as error:
        mismatch = queue_mismatch(error.reply_code, error.reply_text)
        if mismatch is None:
            raise
        return mismatch
    finally:
        if channel.is_open:
            with suppress(AMQPError):
                channel.close()
    return None
