"""Running a service under gunicorn: settings checked, the broker probed, the database prepared first."""

import math
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.http import wsgi
from pydantic import ValidationError

from monty_common.broker.addresses import AddressFailure, BrokerAddresses, NoAddressAnswered, connect_blocking
from monty_common.broker.connection import redact_url
from monty_common.broker.queue_check import check_queues
from monty_common.broker.queue_types import DurableQueue, QueueMismatch
from monty_common.gunicorn_worker import EXIT_MARGIN, LINGER_SECONDS
from monty_common.lifecycle import close_app
from monty_common.logging_setup import configure_logging
from monty_common.malloc_tuning import unmap_large_blocks
from monty_common.metric_folder import metric_folder
from monty_common.metrics import prepare_multiprocess, process_exited, serve_on_port
from monty_common.private_files import private_directory
from monty_common.request_reading import ReadLimits
from monty_common.settings import BrokerSettings, ServiceSettings

S = TypeVar("S", bound=ServiceSettings)

# Exit status of a service whose broker holds a queue it cannot use as configured (a usage error, as
# for invalid settings: restarting will not help).
MISCONFIGURED = 2

# The longest a request of a service without a broker works once read: its database calls (a pooled
# connection is waited for, and a new one opened, within 5 s each).
DATABASE_SECONDS = 5.0


def exit_bound(settings: ServiceSettings) -> float:
    """The most seconds a server takes from SIGTERM to exit: the drain (MONTY_DRAIN_SECONDS), then the
    longest a request accepted before the stop still takes: its head and body arriving
    (MONTY_HEADER_TIMEOUT + MONTY_BODY_TIMEOUT), its work (MONTY_BROKER_TIMEOUT, or its database
    calls'), the close after its answer, and a margin for the server's own exit."""
    work = (
        max(settings.broker_timeout, DATABASE_SECONDS)
        if isinstance(settings, BrokerSettings)
        else DATABASE_SECONDS
    )
    read = settings.header_timeout + settings.body_timeout
    return settings.drain_seconds + read + work + LINGER_SECONDS + EXIT_MARGIN


def load_settings(settings_class: type[S]) -> S:
    """Read settings from the environment, or exit with one line per invalid variable."""
    try:
        return settings_class()
    except ValidationError as error:
        for problem in error.errors():
            name = "MONTY_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"invalid setting {name}: {problem['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def one_process_for_memory_counts(settings: S) -> S:
    """`settings` with a single server process when attempts are counted in memory: more processes
    would each allow the full limits."""
    storage = getattr(settings, "rate_limit_storage", "")
    if isinstance(storage, str) and storage.startswith("memory://"):
        return settings.model_copy(update={"workers": 1})
    return settings


@dataclass
class BrokerCheck:
    """What a service learnt of its broker before serving: addresses that failed, the one that
    answered, and queues that exist with other arguments than configured."""

    failures: list[AddressFailure] = field(default_factory=list)
    reached: str | None = None
    mismatches: list[QueueMismatch] = field(default_factory=list)

    def report(self, name: str) -> None:
        """One line on stderr per address that failed (when one answered) and per mismatched queue."""
        if self.reached is not None:
            for failure in self.failures:
                print(
                    f"{name}: RabbitMQ at {failure.url} does not answer ({failure.reason}); "
                    f"using {redact_url(self.reached)}",
                    file=sys.stderr,
                )
        for mismatch in self.mismatches:
            print(f"{name}: {mismatch.sentence()}", file=sys.stderr)


def check_broker(settings: BrokerSettings, queues: Sequence[DurableQueue] = ()) -> BrokerCheck:
    """Try the broker addresses in their listed order until one answers; on it, check that `queues`
    do not exist with other arguments (a queue's type cannot change in place)."""
    addresses = BrokerAddresses(settings.broker_urls, shuffle=False)
    try:
        connection, url, _parameters, failures = connect_blocking(settings, "monty preflight", addresses)
    except NoAddressAnswered as error:
        return BrokerCheck(failures=error.failures)
    check = BrokerCheck(failures=failures, reached=url)
    try:
        check.mismatches = [
            result.mismatch for result in check_queues(connection, queues) if result.mismatch is not None
        ]
    finally:
        with suppress(Exception):
            connection.close()
    return check


def broker_unreachable(settings: BrokerSettings) -> str | None:
    """Why no broker address can be reached, or None when a connection opens."""
    check = check_broker(settings)
    if check.reached is not None:
        return None
    return "; ".join(failure.reason for failure in check.failures)


class _UnnamedResponse(wsgi.Response):  # type: ignore[misc]
    """gunicorn's response without the Server header, which would name the server to every client."""

    def default_headers(self) -> list[str]:
        """gunicorn's status line and default headers, less Server (it has no setting for it)."""
        return [line for line in super().default_headers() if not line.startswith("Server:")]


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn driven from code: each worker builds its own app after the fork."""

    def __init__(self, build: Callable[[], Flask], options: dict[str, Any], read_limits: ReadLimits) -> None:
        """Keep the factory call, the server options and the limits its workers read requests within."""
        self._build = build
        self._options = options
        self.read_limits = read_limits
        super().__init__()

    def load_config(self) -> None:
        """Apply the options."""
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """Build the app in the worker, so broker links are opened after the fork."""
        return self._build()


def _close_worker_app(_server: Any, worker: Any) -> None:
    """Release a worker's broker links when it exits."""
    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask):
        close_app(app)


def _worker_exited(_server: Any, worker: Any) -> None:
    """Drop an exited worker's live gauges from the shared metrics."""
    process_exited(worker.pid)


def run_service(
    name: str,
    factory: Callable[[S], Flask],
    settings: S,
    prepare: Callable[[S], object] | None = None,
    queues: Callable[[S], Sequence[DurableQueue]] | None = None,
) -> int:
    """Serve `factory(settings)` with gunicorn's threaded workers until stopped.

    A service of the broker first checks that one broker address answers (1 if none does) and that
    the durable `queues(settings)` it declares do not exist there with other arguments (2 if one
    does). `prepare(settings)` (a service's init-db) runs once, here, before the workers are forked:
    they find the database ready and only bind to it.
    """
    configure_logging(settings.log_level)
    unmap_large_blocks()  # inherited by the workers forked below
    if isinstance(settings, BrokerSettings):
        check = check_broker(settings, queues(settings) if queues is not None else ())
        check.report(name)
        if check.reached is None:
            tried = "; ".join(f"{failure.url} ({failure.reason})" for failure in check.failures)
            print(
                f"{name}: cannot reach RabbitMQ at {tried}; "
                "start one with `rabbitmq-server -detached` or "
                "`docker run -d -p 127.0.0.1:5672:5672 rabbitmq:3.10-management`, or set MONTY_AMQP_URL.",
                file=sys.stderr,
            )
            return 1
        if check.mismatches:
            return MISCONFIGURED
    # Keys, secrets and the databases live here: only the service's user may enter.
    try:
        private_directory(settings.data_dir)
    except PermissionError as error:
        print(f"{name}: MONTY_DATA_DIR: {error}", file=sys.stderr)
        return 1
    if prepare is not None:
        prepare(settings)
    if not settings.metrics:
        return _serve(name, factory, settings, None)
    with metric_folder(name) as folder:
        # Before the fork: every worker writes its metrics where any of them (or the master) reads all.
        prepare_multiprocess(folder)
        return _serve(name, factory, settings, folder)


def _serve(name: str, factory: Callable[[S], Flask], settings: S, metrics: Path | None) -> int:
    """Run gunicorn until it stops; its processes share their metrics through the folder `metrics`
    (None: not counted)."""
    # gunicorn builds each request's response from this name; its workers inherit it when forked.
    wsgi.Response = _UnnamedResponse
    options = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        # gthread, answering requests its parser refuses (e.g. a request line over the limit) in
        # problem+json like every other error.
        "worker_class": "monty_common.gunicorn_worker.ProblemThreadWorker",
        "limit_request_line": 8190,
        "threads": settings.threads,
        "timeout": 30,
        # The master kills a worker still running this long after SIGTERM (see exit_bound).
        "graceful_timeout": math.ceil(exit_bound(settings)),
        "keepalive": 5,
        "proc_name": name,
        "logger_class": "monty_common.gunicorn_logging.JsonLogger",
        "worker_exit": _close_worker_app,
        # One control socket per user would clash between the services of one stack.
        "control_socket_disable": True,
    }
    if metrics is not None:
        options["child_exit"] = _worker_exited
        if settings.metrics_port:
            options["when_ready"] = _metrics_server(name, settings.host, settings.metrics_port, metrics)
    # The largest body is the app's own (each worker reads it from the app it builds).
    limits = ReadLimits(settings.header_timeout, settings.body_timeout, 0, settings.request_buffer_bytes)
    _Gunicorn(lambda: factory(settings), options, limits).run()
    return 0


def _metrics_server(name: str, host: str, port: int, folder: Path) -> Callable[[Any], None]:
    """gunicorn's when_ready: serve the metrics of `folder` on `port` from the master, or stop the
    server (exit 1, one line) when the port cannot be bound, before any worker starts."""

    def serve(_server: Any) -> None:
        try:
            serve_on_port(host, port, folder)
        except OSError as error:
            print(
                f"{name}: MONTY_METRICS_PORT: cannot listen on {host}:{port}: {error.strerror or error}",
                file=sys.stderr,
            )
            raise SystemExit(1) from None

    return serve
