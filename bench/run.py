"""Benchmark MontyExchange side by side with its alternatives, in one run: `make bench`.

    python bench/run.py [--duration 8] [--connections 1,8,32] [--scenarios a,b,...] [--visibility 10]

Starts what it needs (the exchange service twice, without and with MONTY_MESSAGE_SCHEMA; the
seed's connection-per-request design and a no-op Flask app, both under the exchange's gunicorn
settings; the exchange service and the no-op app once more under granian, with the same worker and
thread counts; RabbitMQ's management plugin if it is off), then loads, at each concurrency level in
turn, the gateway (single and batch publish and consume, and receive then ack, single and batch),
the management HTTP API (publish, get), the seed design and the no-op app with wrk on loopback,
and publishes with raw pika from this process. Everything runs on one exchange and queue named for
the run (bench.<id>), deleted at the end with the servers; the plugin is disabled again if the run
enabled it.

The machine is shared and noisy: compare the ratios, which both sides measure in the same run,
rather than absolute rates. Results go to bench-results/ (JSON) and docs/bench/latest.png.
"""

import argparse
import importlib.metadata
import os
import shutil
import signal
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from types import FrameType
from urllib.parse import unquote, urlsplit

from bench_queue import BenchQueue
from broker_node import broker_pid, broker_version
from chart import draw_chart
from management import ManagementApi
from measure import Meter
from monty_common.broker.connection import redact_url
from phases import Phases
from report import LEGEND, compute_ratios, publish_p99, ratio_lines, table
from results import machine_info, write_results
from scenarios import BY_NAME, SCENARIOS, Targets
from servers import GRANIAN_FACTORIES, ServerConfig, start_server
from support.paths import REPO_ROOT
from support.processes import ServiceProcess
from support.tokens import TestKeys


def parse_options(argv: list[str]) -> argparse.Namespace:
    """The command line; MONTY_WORKERS, MONTY_THREADS and MONTY_AMQP_URL give the defaults."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=8, help="seconds per run (default 8)")
    parser.add_argument("--connections", default="1,8,32", help="concurrency levels (default 1,8,32)")
    parser.add_argument(
        "--scenarios",
        default=",".join(s.name for s in SCENARIOS),
        help="comma-separated subset of: " + ", ".join(s.name for s in SCENARIOS),
    )
    parser.add_argument("--workers", type=int, default=int(os.environ.get("MONTY_WORKERS", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("MONTY_THREADS", "16")))
    parser.add_argument(
        "--amqp-url", default=os.environ.get("MONTY_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    )
    parser.add_argument("--management-url", default="http://127.0.0.1:15672")
    parser.add_argument("--confirm-window", type=int, default=512, help="unconfirmed messages in flight")
    parser.add_argument(
        "--visibility",
        type=int,
        default=10,
        help="seconds the receive+ack scenarios lease messages for, and wait after each run for the "
        "leases the load left unacked to come back (default 10)",
    )
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "bench-results")
    parser.add_argument("--chart", type=Path, default=REPO_ROOT / "docs/bench/latest.png")
    options = parser.parse_args(argv)
    try:
        options.levels = sorted({int(level) for level in options.connections.split(",")})
    except ValueError:
        parser.error(f"--connections takes numbers separated by commas, not {options.connections!r}")
    options.selected = [name.strip() for name in options.scenarios.split(",") if name.strip()]
    unknown = [name for name in options.selected if name not in BY_NAME]
    if unknown or not options.selected or min(*options.levels, options.duration, options.visibility) < 1:
        parser.error(f"unknown scenarios {unknown}" if unknown else "nothing to run")
    return options


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit, so the servers are stopped and the queue deleted."""
    raise SystemExit(143)


def _management_api(options: argparse.Namespace) -> ManagementApi:
    """The management API, logged in as the AMQP URL's user."""
    parts = urlsplit(options.amqp_url)
    return ManagementApi(
        options.management_url, unquote(parts.username or "guest"), unquote(parts.password or "guest")
    )


def set_up(options: argparse.Namespace, cleanup: ExitStack) -> Phases:
    """Start what the selected scenarios need; `cleanup` undoes each step in reverse order."""
    scenarios = [BY_NAME[name] for name in options.selected]
    keys = TestKeys()
    cleanup.callback(keys.close)
    folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="monty-bench-")))
    queue = BenchQueue.unique(options.amqp_url)
    queue.declare()
    cleanup.callback(queue.delete)  # registered before the servers, so it runs after they stop
    management = _management_api(options)
    if any(s.server == "management" for s in scenarios) and management.ensure_enabled():
        print("enabled rabbitmq_management for the run", file=sys.stderr)
        cleanup.callback(management.disable)
    config = ServerConfig(
        options.amqp_url, queue.exchange, queue.queue, queue.routing_key, keys.jwks_url,
        options.workers, options.threads, folder, folder,
    )  # fmt: skip
    servers: dict[str, ServiceProcess] = {}
    for name in dict.fromkeys(s.server for s in scenarios if s.server not in ("management", "pika")):
        servers[name] = start_server(name, config)
        cleanup.callback(servers[name].stop)
    urls = {name: server.url for name, server in servers.items()} | {"management": management.url}
    # An admin passes both the producer and the consumer checks; the token outlives any run.
    token = keys.token("bench", ["admin"], ttl=3600)
    targets = Targets(
        urls, token, management.authorization, queue.exchange, queue.queue, queue.routing_key,
        options.visibility,
    )  # fmt: skip
    broker = broker_pid(options.amqp_url)
    if broker is None:
        print("no beam.smp of this machine serves the AMQP port: no broker CPU figures", file=sys.stderr)
    return Phases(
        scenarios, options.levels, options.duration, options.confirm_window, queue,
        Meter(queue, broker, options.visibility), targets,
        {name: server.pid for name, server in servers.items()},
    )  # fmt: skip


def _granian_version() -> str | None:
    """The installed granian's version, or None when it is not installed."""
    try:
        return importlib.metadata.version("granian")
    except importlib.metadata.PackageNotFoundError:
        return None


def server_sizing(options: argparse.Namespace) -> str:
    """How the servers under test run: gunicorn gthread, and granian's WSGI server when a scenario uses it."""
    servers = "gunicorn gthread"
    if any(BY_NAME[name].server in GRANIAN_FACTORIES for name in options.selected):
        servers += " (granian wsgi for the granian rows)"
    return f"{servers} {options.workers} workers x {options.threads} threads"


def describe_run(options: argparse.Namespace, phases: Phases, started: str) -> dict[str, object]:
    """The JSON record's header: when, on what machine, with which settings."""
    return {
        "started_at": started,
        "finished_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_info(broker_version(options.amqp_url), REPO_ROOT)
        | {"broker_pid": phases.meter.broker_pid},
        "settings": {
            "duration_s": options.duration,
            "connections": options.levels,
            "scenarios": options.selected,
            "workers": options.workers,
            "threads": options.threads,
            "server": "gunicorn gthread via monty_common.serving.run_service",
            "granian_server": f"granian {_granian_version()} --interface wsgi --workers {options.workers} "
            f"--blocking-threads {options.threads} (the *-granian scenarios)",
            "confirm_window": options.confirm_window,
            "visibility_s": options.visibility,
            "amqp_url": redact_url(options.amqp_url),
            "exchange": phases.queue.exchange,
            "queue": phases.queue.queue,
        },
        "legend": LEGEND,
    }


def main(argv: list[str]) -> int:
    """Measure, clean up, then print the table and ratios and write the JSON and the chart."""
    options = parse_options(argv)
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = datetime.now().astimezone().isoformat(timespec="seconds")
    with ExitStack() as cleanup:
        phases = set_up(options, cleanup)
        measurements = phases.run()
    record = describe_run(options, phases, started)
    ratios = compute_ratios(measurements, options.levels)
    p99 = publish_p99(measurements, options.levels)
    record |= {"ratios": [asdict(ratio) for ratio in ratios], "publish_p99": asdict(p99)}
    title = f"wrk {options.duration} s per run, {server_sizing(options)}, {os.cpu_count()} cores, "
    title += str(record["started_at"])
    print(f"\n{title}\n\n{table(measurements)}\n\n{LEGEND}\n\n{ratio_lines(ratios, p99)}\n")
    path = write_results(options.results_dir, record, measurements)
    draw_chart(measurements, options.levels, title, options.chart)
    print(f"results: {path} (and {options.results_dir / 'latest.json'}); chart: {options.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
