"""A bounded publish load through gateway instances, recording what each answer said and when."""

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from support.processes import ServiceProcess

# Between two requests of one thread: a steady, small load (tens of messages a second in all).
PAUSE_SECONDS = 0.2
# Messages in each POST /Messages.
BATCH = 3
# Longer than a gateway takes to answer a publish the broker does not confirm (its broker timeout).
HTTP_TIMEOUT = 20.0


@dataclass
class LoadRecord:
    """What the load sent and what it was answered."""

    sent: int = 0
    # Confirmed (200, or 200 in a batch's results): these must all be found.
    answered_ids: list[str] = field(default_factory=list)
    # Answered 503 in a batch's results (not stored): none of these may be found.
    not_sent_ids: list[str] = field(default_factory=list)
    # Each answer's status ("error" when none came: a reset, a timeout).
    statuses: Counter[str] = field(default_factory=Counter)
    # (monotonic time, gateway name, whether every message of the request was confirmed) of each answer.
    answers: list[tuple[float, str, bool]] = field(default_factory=list)


class PublishLoad:
    """Threads publishing through each gateway, with POST /Message and POST /Messages, until stopped."""

    def __init__(self, gateways: list[ServiceProcess], headers: dict[str, str]) -> None:
        """Load `gateways` as the user whose Authorization `headers` are given."""
        self._gateways = gateways
        self._headers = headers
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.record = LoadRecord()
        self._threads = [
            threading.Thread(target=self._run, args=(gateway, batch), name=f"{gateway.name} batch={batch}")
            for gateway in gateways
            for batch in (False, True)
        ]

    def start(self) -> None:
        """Start publishing."""
        for thread in self._threads:
            thread.start()

    def stop(self) -> LoadRecord:
        """Stop publishing, once every request in flight is answered; the record."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self.record

    def _run(self, gateway: ServiceProcess, batch: bool) -> None:
        """Publish through `gateway` until stopped."""
        number = 0
        while not self._stop.is_set():
            bodies = [{"thread": threading.current_thread().name, "n": number + i} for i in range(BATCH)]
            if not batch:
                bodies = bodies[:1]
            number += len(bodies)
            self._publish(gateway, bodies, batch)
            self._stop.wait(PAUSE_SECONDS)

    def _publish(self, gateway: ServiceProcess, bodies: list[Any], batch: bool) -> None:
        """One request, recorded."""
        url = gateway.url + ("/Messages" if batch else "/Message")
        try:
            answer = requests.post(
                url, json=bodies if batch else bodies[0], headers=self._headers, timeout=HTTP_TIMEOUT
            )
        except requests.RequestException:
            self._note(gateway, len(bodies), "error", [], [])
            return
        confirmed: list[str] = []
        not_sent: list[str] = []
        if answer.status_code == 200 and not batch:
            confirmed.append(answer.json()["message_id"])
        elif answer.status_code in (200, 207) and batch:
            for result in answer.json()["results"]:
                if result["status"] == 200:
                    confirmed.append(result["message_id"])
                elif result["status"] == 503:
                    not_sent.append(result["message_id"])
        self._note(gateway, len(bodies), str(answer.status_code), confirmed, not_sent)

    def _note(
        self, gateway: ServiceProcess, count: int, status: str, confirmed: list[str], not_sent: list[str]
    ) -> None:
        """Add one answer to the record."""
        with self._lock:
            self.record.sent += count
            self.record.statuses[status] += 1
            self.record.answered_ids += confirmed
            self.record.not_sent_ids += not_sent
            self.record.answers.append((time.monotonic(), gateway.name, len(confirmed) == count))

    def _answers_of(self, gateway: ServiceProcess) -> list[tuple[float, bool]]:
        """(time, all confirmed) of each answer `gateway` gave so far, oldest first."""
        with self._lock:
            return [(at, ok) for at, name, ok in self.record.answers if name == gateway.name]

    def resumed(self, since: float, gateway: ServiceProcess, streak: int = 6) -> bool:
        """Whether `gateway`'s last `streak` answers came after `since` and confirmed everything."""
        last = self._answers_of(gateway)[-streak:]
        return len(last) == streak and all(at > since and ok for at, ok in last)

    def outage(self, fault: float, until: float, gateway: ServiceProcess) -> "Outage":
        """What `fault` (a monotonic time) did to `gateway`'s publishing, seen up to `until`."""
        answers = [(at, ok) for at, ok in self._answers_of(gateway) if at < until]
        confirmed = [at for at, ok in answers if ok]
        # From the last confirmed publish before the fault (or the fault), through those after, to `until`.
        start = max((at for at in confirmed if at <= fault), default=fault)
        edges = [start, *(at for at in confirmed if at > fault), until]
        gap = max(later - earlier for earlier, later in itertools.pairwise(edges))
        failed = [at for at, ok in answers if at > fault and not ok]
        return Outage(gap, (failed[-1] - fault) if failed else 0.0, len(failed))


@dataclass(frozen=True)
class Outage:
    """What a fault did to one gateway's publishing."""

    # The longest time between two confirmed publishes around the fault: the failover time.
    longest_gap: float
    # From the fault to its last failed answer.
    failing_for: float
    # Failed answers after the fault.
    failed: int

    def line(self, gateway: str) -> str:
        """One line to print."""
        return (
            f"{gateway}: longest gap between confirmed publishes {self.longest_gap:.1f} s, "
            f"{self.failed} failed answers within {self.failing_for:.1f} s of the fault"
        )


@contextmanager
def publish_load(gateways: list[ServiceProcess], headers: dict[str, str]) -> Iterator[PublishLoad]:
    """A running PublishLoad, stopped on the way out (also when the test fails)."""
    load = PublishLoad(gateways, headers)
    load.start()
    try:
        yield load
    finally:
        load.stop()
