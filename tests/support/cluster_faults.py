"""A fault made under a publish load, what it did to each gateway's publishing, and the final count."""

import time
from collections.abc import Callable

from support.broker_admin import drain_message_ids
from support.polling import wait_until
from support.processes import ServiceProcess
from support.publish_load import LoadRecord, Outage, PublishLoad
from support.tally import Tally, tally

# Generous: how long a gateway may take to publish again after a node goes away.
RESUME_SECONDS = 30.0


def ride_out(
    load: PublishLoad, gateways: list[ServiceProcess], fault: Callable[[], None], label: str
) -> dict[str, Outage]:
    """Make `fault` under `load`; once every gateway publishes again, what it did to each (printed).

    Fails if a gateway does not publish again within RESUME_SECONDS.
    """
    at = time.monotonic()
    fault()
    try:
        wait_until(
            lambda: all(load.resumed(at, gateway) for gateway in gateways),
            RESUME_SECONDS,
            f"every gateway to publish again after: {label}",
            0.2,
        )
    except AssertionError:
        print(f"{label}: answers so far {dict(load.record.statuses)}", flush=True)
        raise
    until = time.monotonic()
    outages = {gateway.name: load.outage(at, until, gateway) for gateway in gateways}
    for name, outage in outages.items():
        print(f"{label}: {outage.line(name)}", flush=True)
    return outages


def count_queue(label: str, record: LoadRecord, amqp_url: str, queue: str) -> Tally:
    """Consume everything `queue` holds and tally it against `record` (printed); fails if any message
    answered 503 (not stored) is found."""
    found = drain_message_ids(amqp_url, queue)
    print(f"{label}: answers {dict(record.statuses)}", flush=True)
    counted = tally(label, record.sent, record.answered_ids, found)
    stored_though_refused = set(record.not_sent_ids) & set(found)
    assert not stored_though_refused, f"answered 503 (not stored) but found: {sorted(stored_though_refused)}"
    return counted
