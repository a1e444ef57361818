"""A consumer that crashes: it leases batches, records each message durably, then acks it, and exits
abruptly (os._exit: nothing is settled or closed) on a poison message or where it was told to.

    crashing_consumer.py RECORDS [--die-at N [--before-record]]

Gateway URLs (comma-separated), queue and bearer token come in CONSUMER_GATEWAYS, CONSUMER_QUEUE and
CONSUMER_TOKEN. RECORDS gets one line per event, each flushed to disk before the consumer goes on:
"received <message_id> <delivery_count>" for every message of a batch, and "processed <message_id>
<delivery_count>" for each message processed. The exit status says how it ended: 0 once the queue
stayed empty, DIED at the planned point, POISONED on a poison message.
"""

import argparse
import os
import random
import time
from typing import Any, NoReturn, TextIO

from support.leases import LeaseClient, results_of

DIED = 3
POISONED = 4
BATCH = 10
VISIBILITY = 3
WAIT = 3
# Empty receives in a row after which the queue counts as drained: together longer than a lease, so a
# lease that a dead consumer left behind would have come back meanwhile.
IDLE_ROUNDS = 2


def record(records: TextIO, lines: list[str]) -> None:
    """Append `lines` and make them durable before going on."""
    records.write("".join(line + "\n" for line in lines))
    records.flush()
    os.fsync(records.fileno())


def is_poison(message: dict[str, Any]) -> bool:
    """Whether processing `message` crashes the consumer."""
    body = message.get("body")
    return isinstance(body, dict) and body.get("poison") is True


def crash(status: int) -> NoReturn:
    """Exit at once: no lease settled, no file closed, nothing run at exit."""
    os._exit(status)


def consume(records: TextIO, clients: list[LeaseClient], die_at: int | None, before_record: bool) -> None:
    """Lease, process and ack until the queue stays empty, crashing on a poison message and at the
    `die_at`th message processed (before recording it, or after recording it but before its ack)."""
    processed = 0
    idle = 0
    while idle < IDLE_ROUNDS:
        answer = random.choice(clients).receive_answer(BATCH, VISIBILITY, WAIT)
        if answer.status_code in (429, 503):  # too many waiting, or reconnecting: ask again shortly
            time.sleep(0.2)
            continue
        assert answer.status_code == 200, answer.text
        messages: list[dict[str, Any]] = answer.json()["messages"]
        if not messages:
            idle += 1
            continue
        idle = 0
        record(records, [f"received {m['message_id']} {m['delivery_count']}" for m in messages])
        # Poison last: the crash it causes then takes down only the batch's other poison messages,
        # not messages that are fine (with max deliveries 3 those would soon be dead letters too).
        for message in sorted(messages, key=is_poison):
            if is_poison(message):
                crash(POISONED)
            if before_record and processed + 1 == die_at:
                crash(DIED)
            record(records, [f"processed {message['message_id']} {message['delivery_count']}"])
            processed += 1
            if not before_record and processed == die_at:
                crash(DIED)
            [result] = results_of(random.choice(clients).ack([message["receipt"]]))
            # 410: the lease ran out meanwhile; the message comes again and is processed again.
            assert result["status"] in (200, 410), result


def main() -> None:
    """Consume as told; exit 0 once the queue stayed empty."""
    parser = argparse.ArgumentParser()
    parser.add_argument("records")
    parser.add_argument("--die-at", type=int, help="crash at the Nth message processed (1 is the first)")
    parser.add_argument("--before-record", action="store_true", help="crash before recording it")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {os.environ['CONSUMER_TOKEN']}"}
    queue = os.environ["CONSUMER_QUEUE"]
    clients = [LeaseClient(url, queue, headers) for url in os.environ["CONSUMER_GATEWAYS"].split(",")]
    with open(args.records, "a", encoding="utf-8") as records:
        consume(records, clients, args.die_at, args.before_record)


if __name__ == "__main__":
    main()
