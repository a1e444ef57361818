"""The archive worker's Prometheus metrics, served by prometheus_client's HTTP server on a thread of
its own (the worker has no other HTTP)."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from archive_service.worker_progress import ProgressBoard

# How long closing waits for the server's thread to finish a scrape in progress.
CLOSE_SECONDS = 5.0


class WorkerCollector(Collector):
    """The worker's lag, the messages it holds and those it stored, read at scrape time."""

    def __init__(self, board: ProgressBoard) -> None:
        """Report what the worker publishes on `board`."""
        self._board = board

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """The figures of the worker's latest snapshot; no lag while it does not consume (it cannot
        tell what waits in the queue then)."""
        progress = self._board.latest()
        yield GaugeMetricFamily(
            "monty_archive_messages_held",
            "Messages this worker received and has not stored yet.",
            value=progress.held,
        )
        yield CounterMetricFamily(
            "monty_archive_messages_stored",
            "Messages this worker stored (committed) since it started.",
            value=progress.stored,
        )
        if progress.consuming:
            yield GaugeMetricFamily(
                "monty_archive_lag_seconds",
                "Age of the oldest message this worker holds unstored; 0 when it holds none.",
                value=progress.lag_seconds(datetime.now(UTC)),
            )


class MetricsListener:
    """prometheus_client's HTTP server serving a registry of the worker's own, on a daemon thread."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        """Keep the running server and its thread."""
        self._server = server
        self._thread = thread

    @classmethod
    def start(cls, host: str, port: int, board: ProgressBoard) -> "MetricsListener":
        """Listen on `host`:`port` (OSError when it cannot) and serve `board`'s figures."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(WorkerCollector(board))
        server, thread = start_http_server(port, addr=host, registry=registry)
        return cls(server, thread)

    def close(self) -> None:
        """Stop listening and wait for the server's thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(CLOSE_SECONDS)
