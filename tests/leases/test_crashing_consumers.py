"""Crashing consumers: over 2,000 messages, consumers that die mid-processing (process exit, no clean
shutdown) process every message at least once, lose none, see bounded delivery counts, and poison
messages end in the dead-letter queue after max_deliveries."""

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crashing_consumer import DIED, POISONED, VISIBILITY

from monty_common.broker import dead_letter_queue_of
from support.broker_admin import admin_channel, queue_depth
from support.gateways import ClientFor, StartGateways, gateway_settings
from support.names import Names
from support.processes import ServiceProcess, python_command
from support.tokens import TestKeys

MESSAGES = 2000
POISON = 10
PUBLISH_BATCH = 500
MAX_DELIVERIES = 3
CONSUMERS = 4
# Crashes at random points besides the poison ones, alternately before recording a message and
# after recording it but before acking it: consumers are started with one planned until this many
# have happened (a consumer may meet poison first).
PLANNED_CRASHES = 8
# Far more than the drain takes; it only turns a hang into a failure that says how far it got.
DRAIN_SECONDS = 120
CONSUMER_SCRIPT = "tests/leases/crashing_consumer.py"


@dataclass
class Crashes:
    """How the consumers' lives ended."""

    before_record: int = 0
    after_record: int = 0
    poisoned: int = 0

    def __str__(self) -> str:
        """A phrase for assertion messages."""
        return (
            f"{self.before_record} crashes before recording, {self.after_record} after recording but "
            f"before acking, {self.poisoned} on poison"
        )


@dataclass
class Supervisor:
    """Keeps CONSUMERS consumer processes running, starting a new one for each that crashes, until
    every one has exited because the queue stayed empty."""

    settings: dict[str, str]
    folder: Path
    rng: random.Random
    crashes: Crashes = field(default_factory=Crashes)
    lives: int = 0
    _plans: dict[str, bool | None] = field(default_factory=dict)

    def launch(self) -> ServiceProcess:
        """A new consumer, with a planned crash until enough have happened."""
        life = self.lives
        self.lives += 1
        arguments = [str(self.folder / f"records-{life}.txt")]
        before_record: bool | None = None
        if self.crashes.before_record + self.crashes.after_record < PLANNED_CRASHES:
            before_record = life % 2 == 0
            arguments += ["--die-at", str(self.rng.randint(1, 250))]
            arguments += ["--before-record"] if before_record else []
        consumer = ServiceProcess(
            f"consumer-{life}",
            python_command(CONSUMER_SCRIPT, *arguments),
            self.settings,
            self.folder / f"consumer-{life}.log",
        )
        self._plans[consumer.name] = before_record
        return consumer

    def run(self) -> None:
        """Supervise until every consumer exited with 0."""
        running = [self.launch() for _ in range(CONSUMERS)]
        deadline = time.monotonic() + DRAIN_SECONDS
        try:
            while any(consumer.exit_code != 0 for consumer in running):
                assert time.monotonic() < deadline, f"not drained after {DRAIN_SECONDS} s: {self.crashes}"
                for slot, consumer in enumerate(running):
                    if consumer.exit_code in (DIED, POISONED):
                        self._count(consumer)
                        running[slot] = self.launch()
                    else:
                        assert consumer.exit_code in (None, 0), consumer.output()
                time.sleep(0.1)
        finally:
            for consumer in running:
                if consumer.running:
                    consumer.kill()

    def _count(self, consumer: ServiceProcess) -> None:
        """Tally how `consumer` crashed."""
        if consumer.exit_code == POISONED:
            self.crashes.poisoned += 1
        elif self._plans[consumer.name]:
            self.crashes.before_record += 1
        else:
            self.crashes.after_record += 1

    def records(self, kind: str) -> list[tuple[str, int]]:
        """Every (message_id, delivery_count) the consumers recorded as `kind` (received or processed)."""
        found = []
        for path in sorted(self.folder.glob("records-*.txt")):
            for line in path.read_text().splitlines():
                what, message_id, count = line.split()
                if what == kind:
                    found.append((message_id, int(count)))
        return found


def test_consumers_that_crash_mid_processing_lose_nothing(
    start_gateways: StartGateways,
    as_producer: ClientFor,
    as_consumer: ClientFor,
    amqp_url: str,
    names: Names,
    test_keys: TestKeys,
    tmp_path: Path,
) -> None:
    """2,000 messages, 10 of them poison, four consumers over two gateway instances, each crashing at
    random or on poison and started again: every good message is processed at least once (duplicates
    are counted), no poison message is, no delivery count passes 3, each poison message is delivered
    exactly 3 times and then sits in the dead-letter queue with reason max-deliveries."""
    rng = random.Random(12)
    settings = gateway_settings(amqp_url, names, test_keys.jwks_url) | {
        "MONTY_MAX_DELIVERIES": str(MAX_DELIVERIES)
    }
    gateways = start_gateways(2, settings)
    poison_at = set(rng.sample(range(MESSAGES), POISON))
    bodies = [{"poison": True, "n": n} if n in poison_at else {"n": n} for n in range(MESSAGES)]
    published: list[str] = []
    for start in range(0, MESSAGES, PUBLISH_BATCH):
        published += as_producer(gateways[0]).publish(bodies[start : start + PUBLISH_BATCH])
    poison = {published[n] for n in poison_at}
    good = set(published) - poison

    supervisor = Supervisor(
        {
            "CONSUMER_GATEWAYS": ",".join(gateway.url for gateway in gateways),
            "CONSUMER_QUEUE": names.queue,
            "CONSUMER_TOKEN": as_consumer(gateways[0]).headers["Authorization"].removeprefix("Bearer "),
        },
        tmp_path,
        rng,
    )
    supervisor.run()

    processed = Counter(message_id for message_id, _count in supervisor.records("processed"))
    received = supervisor.records("received")
    duplicates = sum(1 for times in processed.values() if times > 1)
    summary = (
        f"{len(processed)} of {len(good)} good messages processed, {duplicates} of them more than once "
        f"({processed.total() - len(processed)} extra runs), {len(received)} deliveries, "
        f"{supervisor.lives} consumer lives, {supervisor.crashes}"
    )
    print(summary)  # shown with -rP
    assert not good - set(processed), f"never processed: {sorted(good - set(processed))[:10]}; {summary}"
    assert not poison & set(processed), f"poison processed; {summary}"
    assert set(processed) <= good, summary
    assert max(count for _id, count in received) <= MAX_DELIVERIES, summary
    assert not [d for d, times in Counter(received).items() if times > 1], (
        f"a delivery count repeated; {summary}"
    )
    for message_id in poison:
        assert sorted(c for i, c in received if i == message_id) == list(range(1, MAX_DELIVERIES + 1)), (
            f"{message_id}; {summary}"
        )
    assert supervisor.crashes.before_record, summary
    assert supervisor.crashes.after_record, summary
    assert supervisor.crashes.poisoned >= 1, summary

    assert as_consumer(gateways[1]).receive(10, VISIBILITY, wait=VISIBILITY + 3) == [], summary
    assert queue_depth(amqp_url, names.queue) == 0, summary
    dead = dead_letters(amqp_url, dead_letter_queue_of(names.queue))
    assert set(dead) == poison, f"dead letters {len(dead)}, poison {len(poison)}; {summary}"
    for headers in dead.values():
        assert headers["dead_letter_reason"] == "max-deliveries", headers
        assert headers["source_queue"] == names.queue, headers


def dead_letters(amqp_url: str, queue: str) -> dict[str, dict[str, Any]]:
    """message_id → headers of every message in `queue`, taken with a plain basic.get."""
    letters: dict[str, dict[str, Any]] = {}
    with admin_channel(amqp_url) as channel:
        while True:
            method, properties, _body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return letters
            letters[properties.message_id] = dict(properties.headers or {})
