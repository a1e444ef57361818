"""How many times a leased message has been delivered, and the copy that carries the count on."""

from collections.abc import Mapping

import pika

from monty_common.broker.lease_book import Lease
from monty_common.broker.takes import Delivery
from monty_common.dead_letters import LAST_ERROR_MAX, dead_letter_properties, retry_properties
from monty_common.envelope import DELIVERIES

# Longest error text a release carries.
ERROR_MAX = LAST_ERROR_MAX
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
    count and last error added, and if `dead` why it was dead-lettered (monty_common/dead_letters.py)."""
    delivery = lease.delivery
    if dead:
        properties = dead_letter_properties(
            delivery.properties,
            MAX_DELIVERIES_REASON,
            source_queue=queue,
            last_error=error,
            deliveries=lease.delivery_count,
        )
    else:
        properties = retry_properties(delivery.properties, lease.delivery_count, error)
    return delivery.body, properties
