"""One measurement: load a scenario and read rates, latency, queue depth and CPU around it."""

import time
from collections.abc import Callable
from dataclasses import dataclass

from ack_tally import AckTally
from bench_queue import BenchQueue
from cpu import own_cpu_seconds, tree_cpu_seconds
from loads import HttpLoad, run_wrk
from pika_publishing import PublishRun
from scenarios import Scenario

# When wrk stops, requests it leaves in flight still publish or take messages (a batch request for
# most of a second): the depth is read once it holds still, so they count for their own run.
SETTLE_SECONDS = 0.5
STILL_SECONDS = 0.25
SETTLE_LIMIT_SECONDS = 10.0


@dataclass
class Measurement:
    """A scenario at one concurrency level (None for the in-process pika loops), or why it was skipped.

    messages are counted from the queue's depth before and after, so an empty-queue answer or a
    refused publish never counts as a message. CPU per message is per request for the no-op app.
    released counts, for receive+ack, the leased messages the load left unacked when it stopped:
    they are back in the queue, uncounted, before the depth after is read.
    """

    scenario: str
    label: str
    kind: str
    connections: int | None
    seconds: float | None = None
    requests: int | None = None
    requests_per_s: float | None = None
    messages: int | None = None
    messages_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    server_cpu_s: float | None = None
    broker_cpu_s: float | None = None
    server_cpu_s_per_msg: float | None = None
    broker_cpu_s_per_msg: float | None = None
    ran_dry: bool = False
    released: int | None = None
    skipped: str | None = None


def _cpu(pid: int | None) -> float | None:
    """CPU seconds of a process tree so far, or None when there is no process to read."""
    return tree_cpu_seconds(pid) if pid else None


def _per(total: float | None, count: int | None) -> float | None:
    """`total` divided by `count`, or None when either is missing or the count is not positive."""
    if total is None or not count or count <= 0:
        return None
    return total / count


@dataclass(frozen=True)
class Meter:
    """Reads the queue and the CPU clocks of the broker around each run."""

    queue: BenchQueue
    broker_pid: int | None
    visibility: float  # seconds the receives of receive+ack loads lease their messages for

    def _settled_depth(self) -> int:
        """The queue's depth once it has stopped changing (or after SETTLE_LIMIT_SECONDS)."""
        time.sleep(SETTLE_SECONDS)
        depth = self.queue.depth()
        deadline = time.monotonic() + SETTLE_LIMIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(STILL_SECONDS)
            previous, depth = depth, self.queue.depth()
            if depth == previous:
                break
        return depth

    def _leases_back(self, acks: AckTally, depth_before: int, since: float) -> int:
        """The depth once the leases a receive+ack load left behind have run out and come back.

        When wrk stops, receipts still wait for their ack and receives' answers go unread; their
        leases began before `since` (when the queue stopped changing) and end `visibility` seconds
        later, when the gateway puts their messages back. The depth cannot fall below what every
        ack that may have succeeded leaves.
        """
        time.sleep(max(0.0, since + self.visibility - time.monotonic()))
        floor = depth_before - acks.acked - acks.unanswered
        deadline = time.monotonic() + SETTLE_LIMIT_SECONDS
        while self.queue.depth() < floor and time.monotonic() < deadline:
            time.sleep(STILL_SECONDS)
        return self._settled_depth()

    def _messages(self, kind: str, before: int, after: int) -> int | None:
        """Messages the run published (depth grew) or consumed (depth shrank)."""
        if kind == "publish" or kind == "client":
            return after - before
        if kind == "consume":
            return before - after
        return None

    def http(self, scenario: Scenario, load: HttpLoad, server_pid: int | None, connections: int,
             seconds: int) -> Measurement:  # fmt: skip
        """Run wrk on `load`; the server's CPU is its process tree (None for the broker's own API)."""
        depth_before = self.queue.depth()
        server_before, broker_before = _cpu(server_pid), _cpu(self.broker_pid)
        report = run_wrk(load, connections, seconds)
        depth_loaded = depth_after = self._settled_depth()
        server_after, broker_after = _cpu(server_pid), _cpu(self.broker_pid)
        errors = report.non_2xx + report.socket_errors
        if report.acks is not None:  # a message counts once acked; what went back is not the run's CPU
            depth_after = self._leases_back(report.acks, depth_before, time.monotonic())
            report.acks.check(depth_before - depth_after)
            errors += report.acks.refused
        messages = self._messages(scenario.kind, depth_before, depth_after)
        server_cpu = _delta(server_before, server_after)
        broker_cpu = _delta(broker_before, broker_after)
        unit = report.requests if messages is None else messages
        return Measurement(
            scenario=scenario.name,
            label=scenario.label,
            kind=scenario.kind,
            connections=connections,
            seconds=report.seconds,
            requests=report.requests,
            requests_per_s=report.requests_per_s,
            messages=messages,
            messages_per_s=None if messages is None else messages / report.seconds,
            p50_ms=report.p50_ms,
            p99_ms=report.p99_ms,
            errors=errors,
            server_cpu_s=server_cpu,
            broker_cpu_s=broker_cpu,
            server_cpu_s_per_msg=_per(server_cpu, unit),
            broker_cpu_s_per_msg=_per(broker_cpu, unit),
            ran_dry=scenario.kind == "consume" and depth_loaded == 0,
            released=None if report.acks is None else depth_after - depth_loaded,
        )

    def in_process(self, scenario: Scenario, publish: Callable[[], PublishRun]) -> Measurement:
        """Run a pika loop in this process; its CPU is this process's."""
        depth_before = self.queue.depth()
        own_before, broker_before = own_cpu_seconds(), _cpu(self.broker_pid)
        run = publish()
        own_after = own_cpu_seconds()
        messages = self._settled_depth() - depth_before
        broker_after = _cpu(self.broker_pid)
        own_cpu = own_after - own_before
        broker_cpu = _delta(broker_before, broker_after)
        return Measurement(
            scenario=scenario.name,
            label=scenario.label,
            kind=scenario.kind,
            connections=None,
            seconds=run.seconds,
            messages=messages,
            messages_per_s=messages / run.seconds,
            errors=run.nacked,
            server_cpu_s=own_cpu,
            broker_cpu_s=broker_cpu,
            server_cpu_s_per_msg=_per(own_cpu, messages),
            broker_cpu_s_per_msg=_per(broker_cpu, messages),
        )


def _delta(before: float | None, after: float | None) -> float | None:
    """after - before, or None when a clock could not be read."""
    if before is None or after is None:
        return None
    return after - before


def skipped(scenario: Scenario, reason: str) -> Measurement:
    """The row of a scenario that could not run, with the reason."""
    return Measurement(scenario.name, scenario.label, scenario.kind, None, skipped=reason)
