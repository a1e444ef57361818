"""The printed report: a table of every measurement, the ratios the README quotes, the schema's cost."""

from dataclasses import dataclass

from measure import Measurement
from scenarios import SCENARIOS


@dataclass(frozen=True)
class RatioSpec:
    """A ratio of one scenario's figure to another's, at each concurrency level."""

    name: str
    numerator: str
    denominator: str
    figure: str  # "messages_per_s" or "requests_per_s"


RATIOS = [
    RatioSpec("gateway single publish / management API publish", "gateway-publish", "management-publish",
              "messages_per_s"),
    RatioSpec("gateway single publish / no-op Flask (req/s)", "gateway-publish", "noop", "requests_per_s"),
    RatioSpec("no-op Flask granian / gunicorn (req/s)", "noop-granian", "noop", "requests_per_s"),
    RatioSpec("gateway single publish granian / gunicorn (req/s)", "gateway-publish-granian",
              "gateway-publish", "requests_per_s"),
    RatioSpec("gateway single consume / management API get", "gateway-consume", "management-get",
              "messages_per_s"),
    RatioSpec("gateway batch publish / management API single publish (msgs/s)", "gateway-batch-publish",
              "management-publish", "messages_per_s"),
    RatioSpec("gateway batch consume / management API get (msgs/s)", "gateway-batch-consume",
              "management-get", "messages_per_s"),
    RatioSpec("gateway receive + ack / single consume (msgs/s)", "gateway-receive-ack", "gateway-consume",
              "messages_per_s"),
    RatioSpec("gateway batch receive + ack / single consume (msgs/s)", "gateway-receive-ack-batch",
              "gateway-consume", "messages_per_s"),
    RatioSpec("gateway batch receive + ack / batch consume (msgs/s)", "gateway-receive-ack-batch",
              "gateway-batch-consume", "messages_per_s"),
    RatioSpec("gateway single publish / seed baseline publish", "gateway-publish", "seed-publish",
              "messages_per_s"),
    RatioSpec("gateway single consume / seed baseline consume", "gateway-consume", "seed-consume",
              "messages_per_s"),
    RatioSpec("gateway publish, metrics on / off (req/s)", "gateway-publish", "gateway-publish-no-metrics",
              "requests_per_s"),
    RatioSpec("order publish, MONTY_MESSAGE_SCHEMA set / not set (req/s)", "schema-publish-order",
              "gateway-publish-order", "requests_per_s"),
]  # fmt: skip
ORDER = {scenario.name: index for index, scenario in enumerate(SCENARIOS)}


def _figure(measurements: list[Measurement], scenario: str, connections: int, figure: str) -> float | None:
    """`figure` of `scenario` at `connections`, or None if it was not measured."""
    for measurement in measurements:
        if measurement.scenario == scenario and measurement.connections == connections:
            value: float | None = getattr(measurement, figure)
            return value
    return None


@dataclass(frozen=True)
class Ratio:
    """A RatioSpec's value at each concurrency level; None where a side was not measured."""

    name: str
    numerator: str
    denominator: str
    figure: str
    by_connections: dict[int, float | None]


@dataclass(frozen=True)
class PublishLatency:
    """The p99 latency of gateway single publish at one concurrency level."""

    connections: int
    p99_ms: float | None


def compute_ratios(measurements: list[Measurement], levels: list[int]) -> list[Ratio]:
    """Every ratio of RATIOS at every level."""
    ratios = []
    for spec in RATIOS:
        by_level: dict[int, float | None] = {}
        for level in levels:
            top = _figure(measurements, spec.numerator, level, spec.figure)
            bottom = _figure(measurements, spec.denominator, level, spec.figure)
            by_level[level] = top / bottom if top is not None and bottom else None
        ratios.append(Ratio(spec.name, spec.numerator, spec.denominator, spec.figure, by_level))
    return ratios


def publish_p99(measurements: list[Measurement], levels: list[int], preferred: int = 32) -> PublishLatency:
    """The p99 latency of single publish at 32 connections, or at the highest level measured."""
    level = preferred if preferred in levels else max(levels)
    return PublishLatency(level, _figure(measurements, "gateway-publish", level, "p99_ms"))


def _number(value: float | int | None, digits: int = 0) -> str:
    """A figure for the table; a dash when there is none."""
    return "-" if value is None else f"{value:,.{digits}f}"


def _micros(seconds: float | None) -> str:
    """CPU seconds per message as microseconds."""
    return "-" if seconds is None else f"{seconds * 1e6:,.0f}"


def _sort_key(measurement: Measurement) -> tuple[int, int, int]:
    """Skipped rows last, then by level (in-process loops after every level), then scenario order."""
    level = measurement.connections if measurement.connections is not None else 1 << 30
    return (measurement.skipped is not None, level, ORDER[measurement.scenario])


def table(measurements: list[Measurement]) -> str:
    """Every measurement as a Markdown table."""
    header = [
        "scenario", "conns", "req/s", "msgs/s", "p50 ms", "p99 ms", "errors",
        "server CPU µs/msg", "broker CPU µs/msg", "note",
    ]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for m in sorted(measurements, key=_sort_key):
        notes = ["queue ran dry"] if m.ran_dry else []
        if m.released:
            notes.append(f"{m.released:,} left leased, back uncounted")
        note = "skipped: " + m.skipped if m.skipped else "; ".join(notes)
        row = [
            m.label, "-" if m.connections is None else str(m.connections), _number(m.requests_per_s),
            _number(m.messages_per_s), _number(m.p50_ms, 2), _number(m.p99_ms, 2), str(m.errors),
            _micros(m.server_cpu_s_per_msg), _micros(m.broker_cpu_s_per_msg), note,
        ]  # fmt: skip
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def ratio_lines(ratios: list[Ratio], p99: PublishLatency) -> str:
    """The ratios, one line each, with their value at every level, then the publish p99."""
    lines = []
    for ratio in ratios:
        values = ", ".join(
            f"c={level}: {'n/a' if value is None else f'{value:.2f}x'}"
            for level, value in ratio.by_connections.items()
        )
        lines.append(f"{ratio.name}: {values}")
    shown = "not measured" if p99.p99_ms is None else f"{p99.p99_ms:.2f} ms"
    lines.append(f"p99 of gateway single publish at {p99.connections} connections: {shown}")
    return "\n".join(lines)


LEGEND = (
    "msgs/s counts messages from the queue's depth before and after each run (an empty-queue answer "
    "or a refused request is no message). server CPU is the process tree under test: the gunicorn "
    "master and workers, or granian's process and all its descendants for the granian rows (this "
    "harness's process for raw pika; none for the management API, which runs in the broker); "
    "broker CPU is the beam.smp holding the AMQP port, which other users of the broker also load. "
    "For the no-op app, CPU is per request. Receive + ack counts a message once acked: the messages "
    "the load left leased when it stopped (receipts not yet acked, receives whose answer went unread) "
    "are back in the queue, uncounted, before the depth is read (the note says how many), and the "
    "count is checked against the acks the load saw; acks answered other than 200 count as errors, "
    "and latencies are per request, receives and acks alike."
)
