"""The archive worker's own metrics: the age of the oldest message it holds unstored, read from a real
worker process over HTTP while its PostgreSQL is stopped and after it is back."""

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monty_common.envelope import stamp
from support.archive import (
    WORKER_SCRIPT,
    ArchiveNames,
    DirectPublisher,
    WorkerStarter,
    archived_bodies,
    worker_settings,
)
from support.metrics import Samples, scrape, value
from support.polling import wait_until
from support.ports import free_port
from support.postgres_server import PostgresServer
from support.processes import ServiceProcess, python_command, run_to_exit
from support.users import SERVICE_SECRET

LAG = "monty_archive_lag_seconds"
HELD = "monty_archive_messages_held"
STORED = "monty_archive_messages_stored_total"
# Publish times of the messages, in publish order, as offsets from the oldest: the oldest is not the
# first one delivered, so the lag must be the oldest held, not the first.
OFFSETS = [timedelta(seconds=60), timedelta(0), timedelta(seconds=120)]


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of the test's own, running; removed after the test."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def has_lag(samples: Samples) -> bool:
    """Whether the scrape holds a lag sample."""
    return any(name == LAG for name, _labels in samples)


def test_the_lag_is_the_age_of_the_oldest_message_held_while_the_database_is_down(
    start_worker: WorkerStarter, publisher: DirectPublisher, private_postgres: PostgresServer
) -> None:
    """With its database stopped the worker holds what it received: the lag is the oldest held
    message's age from its published_at, and grows; once the database is back the messages are
    stored, the lag is 0 again and the stored counter moved by as many as were published."""
    # A batch of exactly the messages published, committed as soon as they are all in.
    worker = start_worker(
        private_postgres.url,
        MONTY_ARCHIVE_PREFETCH=str(len(OFFSETS)),
        MONTY_ARCHIVE_FLUSH_SECONDS="10",
    )
    metrics = worker.url + "/metrics"
    wait_until(lambda: has_lag(scrape(metrics)), 20, "the worker to consume", 0.1)
    idle = scrape(metrics)
    assert (value(idle, LAG), value(idle, HELD), value(idle, STORED)) == (0, 0, 0)

    private_postgres.stop()
    # Ten minutes ago, to the second (published_at keeps milliseconds): far older than the outage.
    oldest = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    sent = []
    for number, offset in enumerate(OFFSETS):
        properties = stamp("producer-1", "producer-1", oldest + offset, f"lag-{number}")
        publisher.publish_raw(json.dumps({"n": number}).encode(), properties)
        sent.append(str(properties.message_id))
    wait_until(lambda: value(scrape(metrics), HELD) == len(OFFSETS), 20, "the worker to hold them", 0.1)

    floor = (datetime.now(UTC) - oldest).total_seconds()
    held = scrape(metrics)
    ceiling = (datetime.now(UTC) - oldest).total_seconds()
    assert floor <= value(held, LAG) <= ceiling
    assert value(held, STORED) == 0
    first = value(held, LAG)
    wait_until(lambda: value(scrape(metrics), LAG) >= first + 1, 10, "the lag to grow", 0.2)
    assert "database unavailable, holding messages unacked" in worker.output()

    private_postgres.start()

    def caught_up() -> bool:
        samples = scrape(metrics)
        figures = (value(samples, LAG), value(samples, HELD), value(samples, STORED))
        return has_lag(samples) and figures == (0, 0, len(sent))

    # The worker retries its commit with capped backoff (at most 5 s apart).
    wait_until(caught_up, 30, "the held messages to be stored", 0.2)
    assert set(archived_bodies(private_postgres.url)) == set(sent)
    assert worker.stop() == 0


def test_without_metrics_the_worker_listens_on_no_port(start_worker: WorkerStarter, tmp_path: Path) -> None:
    """MONTY_METRICS=false: nothing listens on the worker's metrics port, yet it consumes."""
    port = free_port()
    worker = start_worker(
        f"sqlite:///{tmp_path / 'archive.db'}", MONTY_METRICS="false", MONTY_WORKER_METRICS_PORT=str(port)
    )
    # It declared its queue (start_worker waited for it), so a listener, opened before, would be up.
    assert worker.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert worker.stop() == 0


def test_no_lag_is_reported_while_the_worker_does_not_consume(
    amqp_url: str, archive_names: ArchiveNames, tmp_path: Path
) -> None:
    """Waiting for its database at start, the worker serves its figures without a lag: it cannot tell
    what waits in the queue."""
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    port = free_port()
    settings = worker_settings(amqp_url, archive_names, tmp_path / "data", unreachable, SERVICE_SECRET)
    worker = ServiceProcess(
        "archive worker",
        python_command(WORKER_SCRIPT),
        {**settings, "MONTY_WORKER_METRICS_PORT": str(port)},
        tmp_path / "worker.log",
        port,
    )
    try:
        worker.wait_healthy(worker.url + "/metrics")
        wait_until(
            lambda: "database unreachable, retrying the migration" in worker.output(),
            20,
            "a failed migration",
        )
        samples = scrape(worker.url + "/metrics")
        assert not has_lag(samples)
        assert (value(samples, HELD), value(samples, STORED)) == (0, 0)
        assert (HELD, frozenset()) in samples
    finally:
        assert worker.stop() == 0


def test_a_metrics_port_in_use_stops_the_worker_at_start(
    amqp_url: str, archive_names: ArchiveNames, tmp_path: Path
) -> None:
    """Exit 2 before consuming, with a line naming the variable, when the port is taken."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        database = f"sqlite:///{tmp_path / 'archive.db'}"
        settings = worker_settings(amqp_url, archive_names, tmp_path / "data", database, SERVICE_SECRET)
        result = run_to_exit(WORKER_SCRIPT, {**settings, "MONTY_WORKER_METRICS_PORT": str(port)})
    assert result.returncode == 2, result.stderr
    assert "MONTY_WORKER_METRICS_PORT" in result.stderr
    assert "archive worker consuming" not in result.stderr
