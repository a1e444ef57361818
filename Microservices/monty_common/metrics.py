"""Prometheus metrics every service counts, and the GET /metrics route that serves them."""

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TypeVar

from flask import Flask, Response, g, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
    values,
)
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector

from monty_common.broker.errors import Abandoned, BrokerUnavailable, OutcomeUnknown, PublishRejected
from monty_common.metric_writer import WRITER
from monty_common.openapi_app import MontyOpenAPI
from monty_common.settings import ServiceSettings

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# Methods counted by name; any other (clients may send any token) is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Latency buckets (seconds): from a cached answer to a long poll's 20 s wait.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# The values the outcome and kind labels take. Their series are listed at 0 from the start: in
# multiprocess mode a series exists only once written, so increase() would miss its first count and
# an alert on it could not fire before then.
PUBLISH_OUTCOMES = ("confirmed", "nacked", "returned", "unavailable", "unknown")
CONSUME_KINDS = ("single", "batch", "lease")
LEASE_OUTCOMES = ("acked", "nacked", "extended", "expired", "dead_lettered")
LOGIN_OUTCOMES = ("succeeded", "failed", "throttled")
TOKEN_OUTCOMES = ("valid", "invalid", "keys_unavailable")
JWKS_OUTCOMES = ("ok", "failed")


@dataclass(frozen=True)
class Instruments:
    """The metrics a service process counts."""

    http_requests: Counter
    http_duration: Histogram
    published: Counter
    consumed: Counter
    leases: Counter
    broker_reconnects: Counter
    broker_link_up: Gauge
    long_polls_waiting: Gauge
    logins: Counter
    token_verifications: Counter
    jwks_fetches: Counter


@cache
def instruments() -> Instruments:
    """This process's metrics, made on first use (after run_service chose multiprocess mode, so
    they write to its shared files), with every known outcome and kind listed at 0."""
    made = _new_instruments()
    for metric, labels in (
        (made.published, PUBLISH_OUTCOMES),
        (made.consumed, CONSUME_KINDS),
        (made.leases, LEASE_OUTCOMES),
        (made.logins, LOGIN_OUTCOMES),
        (made.token_verifications, TOKEN_OUTCOMES),
        (made.jwks_fetches, JWKS_OUTCOMES),
    ):
        for label in labels:
            series(metric, label)
    return made


def _new_instruments() -> Instruments:
    """The metrics, with no series yet."""
    return Instruments(
        http_requests=Counter(
            "monty_http_requests_total",
            "HTTP requests answered.",
            ["service", "method", "route", "status"],
        ),
        http_duration=Histogram(
            "monty_http_request_duration_seconds",
            "Seconds from a request's arrival to its answer.",
            ["service", "method", "route"],
            buckets=LATENCY_BUCKETS,
        ),
        published=Counter("monty_messages_published_total", "Messages published, by outcome.", ["outcome"]),
        consumed=Counter("monty_messages_consumed_total", "Messages handed to consumers.", ["kind"]),
        leases=Counter("monty_leases_total", "Leased messages settled, by outcome.", ["outcome"]),
        broker_reconnects=Counter(
            "monty_broker_reconnects_total", "Broker connections made again after a loss.", ["link"]
        ),
        broker_link_up=Gauge(
            "monty_broker_link_up",
            "1 while the broker link is connected.",
            ["link"],
            multiprocess_mode="livemax",
        ),
        long_polls_waiting=Gauge(
            "monty_long_polls_waiting", "Consume requests waiting for a message.", multiprocess_mode="livesum"
        ),
        logins=Counter("monty_logins_total", "Password logins, by outcome.", ["outcome"]),
        token_verifications=Counter(
            "monty_token_verifications_total", "Access tokens checked, by outcome.", ["outcome"]
        ),
        jwks_fetches=Counter(
            "monty_jwks_fetches_total", "Fetches of the auth service's key set.", ["outcome"]
        ),
    )


M = TypeVar("M", bound=MetricWrapperBase)


@lru_cache(maxsize=1024)
def series(metric: M, *labels: str) -> M:
    """`metric`'s series for `labels`, kept: prometheus-client's own look-up (`labels()`) costs
    more than the count itself on every request."""
    return metric.labels(*labels)


def add(metric: Counter, *labels: str, amount: float = 1) -> None:
    """Add `amount` to the counter `metric`'s series for `labels`."""
    WRITER.apply(series(metric, *labels).inc, amount)


def observe(metric: Histogram, value: float, *labels: str) -> None:
    """Record `value` in the histogram `metric`'s series for `labels`."""
    WRITER.apply(series(metric, *labels).observe, value)


def publish_outcome(error: BaseException | None) -> str | None:
    """The published counter's outcome for a publish that ended with `error` (None: confirmed);
    None for an error that is not the broker's answer."""
    if error is None:
        return "confirmed"
    if isinstance(error, PublishRejected):
        return "returned" if error.reason == "unroutable" else "nacked"
    if isinstance(error, OutcomeUnknown | Abandoned):
        return "unknown"
    if isinstance(error, BrokerUnavailable):
        return "unavailable"
    return None


def count_published(error: BaseException | None, count: int = 1) -> None:
    """Count `count` messages whose publish ended with `error` (None: confirmed)."""
    outcome = publish_outcome(error)
    if outcome is not None:
        add(instruments().published, outcome, amount=count)


def _multiprocess_dir() -> str | None:
    """The directory processes share their metrics in, when serving under gunicorn."""
    return os.environ.get(MULTIPROC_VARIABLE)


class ProcessId:
    """This process's id, read once and again after each fork: prometheus-client asks for it on every
    count (to notice a fork), and os.getpid() is a system call each time."""

    def __init__(self) -> None:
        """Read the id now, and in each child a fork makes."""
        self._pid = os.getpid()
        os.register_at_fork(after_in_child=self._refresh)

    def _refresh(self) -> None:
        """Read the child's own id."""
        self._pid = os.getpid()

    def __call__(self) -> int:
        """The id of the process calling."""
        return self._pid


def prepare_multiprocess(folder: Path) -> None:
    """Share metrics between the server processes through `folder`, new, empty and private (called
    by the master before it forks its workers)."""
    if instruments.cache_info().currsize:
        raise RuntimeError("metrics were made before multiprocess mode was chosen: they would not be shared")
    os.environ[MULTIPROC_VARIABLE] = str(folder)
    # prometheus_client chose its value store when imported, before the variable was set.
    values.ValueClass = values.MultiProcessValue(process_identifier=ProcessId())  # type: ignore[no-untyped-call]
    WRITER.defer()


def process_exited(pid: int) -> None:
    """Drop a server process's live gauges once it exits (gunicorn's child_exit)."""
    directory = _multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def serve_on_port(host: str, port: int, folder: Path) -> None:
    """Serve the metrics every process writes in `folder` on `port`, from the calling (master)
    process; OSError if the port cannot be bound."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(folder))  # type: ignore[no-untyped-call]
    start_http_server(port, addr=host, registry=registry)


def _exposition(collectors: Iterable[Collector]) -> bytes:
    """Every process's metrics (this one's without multiprocess mode), then `collectors`'."""
    directory = _multiprocess_dir()
    if directory is not None:
        WRITER.write_pending()  # this process's counts; the others' are at most WRITE_INTERVAL old
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        instruments()  # every family listed, even before its first count
        text = generate_latest(REGISTRY)
    extra = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        extra.register(collector)
    return text + generate_latest(extra)


def metrics_blueprint(collectors: Callable[[], Iterable[Collector]]) -> APIBlueprint:
    """GET /metrics: the Prometheus text exposition, with `collectors()` computed at scrape time."""
    blueprint = APIBlueprint("metrics", __name__, abp_tags=[Tag(name="metrics", description="Prometheus")])

    @blueprint.get(
        "/metrics",
        summary="Prometheus metrics",
        responses={200: {"description": "The Prometheus text format.", "content": {"text/plain": {}}}},
    )
    def metrics() -> Response:
        """Counters, gauges and histograms of every server process, unauthenticated."""
        return Response(_exposition(collectors()), mimetype=None, content_type=CONTENT_TYPE_LATEST)

    return blueprint


# Per-app collectors computed at scrape time (e.g. the archive's lag), added by its factory.
_COLLECTORS_KEY = "monty.metrics.collectors"


def add_collector(app: Flask, collector: Collector) -> None:
    """Have `app`'s /metrics also report `collector`."""
    app.extensions.setdefault(_COLLECTORS_KEY, []).append(collector)


def register_metrics(app: MontyOpenAPI, service: str, settings: ServiceSettings) -> None:
    """Count `app`'s requests as `service`, and serve /metrics on its port unless the settings turn
    metrics off or move them to a port of their own."""
    if not settings.metrics:
        return
    counted = instruments()

    @app.before_request
    def _started() -> None:
        g.monty_metrics_start = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        start = g.get("monty_metrics_start")
        rule = request.url_rule
        route = rule.rule if rule is not None else "unmatched"
        method = request.method if request.method in METHODS else "other"
        add(counted.http_requests, service, method, route, str(response.status_code))
        if start is not None:
            observe(counted.http_duration, time.perf_counter() - start, service, method, route)
        return response

    if settings.metrics_port == 0:
        app.register_api(metrics_blueprint(lambda: list(app.extensions.get(_COLLECTORS_KEY, []))))
