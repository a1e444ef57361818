"""The order of the runs: warm-up, publishing scenarios at every level, raw pika, consuming scenarios.

Publishing runs start from an empty queue; consuming runs take real messages from a queue filled
ahead of each run with more than it can drain, so an empty-queue answer is the exception.
"""

import math
import sys
from dataclasses import dataclass, field

from bench_queue import BenchQueue
from loads import run_wrk
from measure import Measurement, Meter, skipped
from pika_publishing import ConfirmedStream, publish_unconfirmed
from scenarios import BODY, Scenario, Targets, http_load, unavailable

# Messages per second of run a fill covers before any rate of the scenario is known: several times
# what these servers reach on two cores. Later levels fill for twice the best rate seen so far.
SINGLE_FILL_PER_SECOND = 6_000
BATCH_FILL_PER_SECOND = 30_000
MAX_FILL = 2_000_000  # keeps the broker far from its memory alarm, which would block every publisher
WARM_UP_SECONDS = 1


@dataclass
class Phases:
    """Runs the selected scenarios against servers already started, and collects the measurements."""

    scenarios: list[Scenario]
    levels: list[int]
    seconds: int
    confirm_window: int
    queue: BenchQueue
    meter: Meter
    targets: Targets
    server_pids: dict[str, int]
    measurements: list[Measurement] = field(default_factory=list, init=False)
    best_rate: dict[str, float] = field(default_factory=dict, init=False)

    def run(self) -> list[Measurement]:
        """Every phase in order; scenarios whose endpoint is missing are skipped with their reason."""
        runnable = []
        for scenario in self.scenarios:
            reason = unavailable(scenario, self.targets)
            if reason is None:
                runnable.append(scenario)
            else:
                _say(f"skipping {scenario.name}: {reason}")
                self.measurements.append(skipped(scenario, reason))
        self._warm_up(runnable)
        self._publishing([s for s in runnable if s.kind in ("publish", "noop")])
        self._raw_pika([s for s in runnable if s.kind == "client"])
        self._consuming([s for s in runnable if s.kind == "consume"])
        return self.measurements

    def _publishing(self, scenarios: list[Scenario]) -> None:
        """Each level in turn, every publishing scenario at it, each from an empty queue."""
        for level in self.levels:
            for scenario in scenarios:
                if scenario.kind == "publish":
                    self.queue.purge()
                self._record(self._http(scenario, level))

    def _raw_pika(self, scenarios: list[Scenario]) -> None:
        """The in-process loops, once each; what they leave in the queue is the first consumers' fill."""
        for scenario in scenarios:
            self.queue.purge()
            self._record(self._pika(scenario))

    def _consuming(self, scenarios: list[Scenario]) -> None:
        """Each level in turn, every consuming scenario at it, each on a queue filled for it."""
        for level in self.levels:
            for scenario in scenarios:
                self._record(self._consume(scenario, level))

    def _warm_up(self, scenarios: list[Scenario]) -> None:
        """Load each server briefly first: workers fetch the key set and open broker links lazily."""
        warmed: set[str] = set()
        for scenario in scenarios:
            if scenario.server in self.server_pids and scenario.server not in warmed:
                warmed.add(scenario.server)
                run_wrk(http_load(scenario, self.targets), min(4, max(self.levels)), WARM_UP_SECONDS)
        self.queue.purge()

    def _http(self, scenario: Scenario, level: int) -> Measurement:
        """One wrk run of `scenario` at `level` connections."""
        load = http_load(scenario, self.targets)
        return self.meter.http(scenario, load, self.server_pids.get(scenario.server), level, self.seconds)

    def _pika(self, scenario: Scenario) -> Measurement:
        """One raw pika publishing loop, with streaming confirms or without."""
        queue, body = self.queue, BODY.encode()
        if scenario.name == "pika-confirms":
            stream = ConfirmedStream(
                queue.amqp_url, queue.exchange, queue.routing_key, body, self.confirm_window
            )
            return self.meter.in_process(scenario, lambda: stream.run(seconds=self.seconds))
        return self.meter.in_process(
            scenario,
            lambda: publish_unconfirmed(
                queue.amqp_url, queue.exchange, queue.routing_key, queue.queue, body, self.seconds
            ),
        )

    def _consume(self, scenario: Scenario, level: int) -> Measurement:
        """A consuming run on a queue filled for it; once more with a bigger fill if it ran dry."""
        floor = BATCH_FILL_PER_SECOND if scenario.per_request > 1 else SINGLE_FILL_PER_SECOND
        per_second = max(floor, 2 * self.best_rate.get(scenario.name, 0.0))
        self._fill(math.ceil(per_second * self.seconds))
        measurement = self._http(scenario, level)
        if measurement.ran_dry and measurement.messages:
            _say(f"{scenario.name} at {level} connections drained {measurement.messages} messages; again")
            self._fill(3 * measurement.messages)
            measurement = self._http(scenario, level)
        return measurement

    def _fill(self, target: int) -> None:
        """Top the queue up to `target` messages (at most MAX_FILL) with raw pika and confirms."""
        missing = min(target, MAX_FILL) - self.queue.depth()
        if missing <= 0:
            return
        queue = self.queue
        stream = ConfirmedStream(
            queue.amqp_url, queue.exchange, queue.routing_key, BODY.encode(), self.confirm_window
        )
        run = stream.run(count=missing)
        _say(f"filled the queue with {run.messages} messages in {run.seconds:.1f} s")

    def _record(self, measurement: Measurement) -> None:
        """Keep a measurement, remember the scenario's best rate, and show it."""
        self.measurements.append(measurement)
        if measurement.messages_per_s:
            best = self.best_rate.get(measurement.scenario, 0.0)
            self.best_rate[measurement.scenario] = max(best, measurement.messages_per_s)
        _say(_progress(measurement))


def _progress(m: Measurement) -> str:
    """One line on a finished run."""
    level = "-" if m.connections is None else str(m.connections)
    rates = f"{_shown(m.requests_per_s)} req/s {_shown(m.messages_per_s)} msgs/s"
    latency = f"p50 {_shown(m.p50_ms, 2)} ms p99 {_shown(m.p99_ms, 2)} ms"
    dry = "  queue ran dry" if m.ran_dry else ""
    return f"{m.label:34} c={level:>3} {rates} {latency} errors {m.errors}{dry}"


def _shown(value: float | None, digits: int = 0) -> str:
    """A figure right-aligned for the progress lines; a dash when there is none."""
    return f"{'-' if value is None else f'{value:.{digits}f}':>8}"


def _say(line: str) -> None:
    """Progress goes to stderr, the report to stdout."""
    print(line, file=sys.stderr, flush=True)
