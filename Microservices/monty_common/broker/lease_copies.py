"""How many times a leased message has been delivered, and the copy that carries the count on."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pika
from pika.delivery_mode import DeliveryMode

from monty_common.broker.lease_book import Lease
from monty_common.broker.takes import Delivery
from monty_common.envelope import (
    DEAD_LETTER_REASON,
    DEAD_LETTERED_AT,
    DELIVERIES,
    LAST_ERROR,
    SOURCE_QUEUE,
)

# Longest error text a release carries.
ERROR_MAX = 1000
MAX_DELIVERIES_REASON = "max-deliveries"


def _count(value: object) -> int | None:
    """`value` if it is a sane count, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31:
        return value
    return None


def delivery_count(delivery: Delivery) -> int:
    """This delivery's number: 1 the first time, one more for each lease that expired or was released.

    A message the broker takes back by itself (its holder's connection lost) comes again marked
    redelivered, uncounted: the broker also takes back deliveries no client ever saw (a waiting
    request that ended as the message arrived), and counting those would dead-letter healthy
    messages.
    """
    headers = delivery.headers if isinstance(delivery.headers, Mapping) else {}
    return (_count(headers.get(DELIVERIES)) or 0) + 1


def released_copy(
    lease: Lease, queue: str, error: str | None, dead: bool
) -> tuple[bytes, pika.BasicProperties]:
    """The body and properties of a released message's copy: every property kept, the delivery
    count and last error added, and if `dead` why it was dead-lettered.

    user_id is left out (the broker refuses a publisher naming another login), and expiration too
    (a message retried, or waiting in a dead-letter queue, waits for someone to read it).
    """
    delivery = lease.delivery
    original = delivery.properties
    headers = dict(delivery.headers)
    headers[DELIVERIES] = lease.delivery_count
    if error is not None:
        headers[LAST_ERROR] = error[:ERROR_MAX]
    if dead:
        headers[DEAD_LETTER_REASON] = MAX_DELIVERIES_REASON
        headers[SOURCE_QUEUE] = queue
        headers[DEAD_LETTERED_AT] = datetime.now(UTC).isoformat(timespec="milliseconds")
    return delivery.body, pika.BasicProperties(
        content_type=_property(original, "content_type", delivery.content_type),
        content_encoding=_property(original, "content_encoding"),
        headers=headers,
        delivery_mode=DeliveryMode.Persistent,
        priority=_property(original, "priority"),
        correlation_id=_property(original, "correlation_id"),
        reply_to=_property(original, "reply_to"),
        message_id=delivery.message_id,
        timestamp=delivery.timestamp,
        type=_property(original, "type"),
        app_id=_property(original, "app_id"),
        cluster_id=_property(original, "cluster_id"),
    )


def _property(properties: Any, name: str, default: Any = None) -> Any:
    """One property of the original message (a delivery taken without them has its defaults)."""
    return default if properties is None else getattr(properties, name, default)
