"""The archive on the cluster (quorum queues, every node's URL) under a publish load through a gateway:
its database stopped for a while, then its worker killed with SIGKILL. Every message published is
archived once."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.archive import ArchiveNames, archived_rows, start_archive_worker
from support.broker_admin import delete_topology
from support.cluster_faults import RESUME_SECONDS
from support.gateways import StartGateways
from support.names import Names
from support.polling import wait_until
from support.postgres_server import PostgresServer
from support.processes import ServiceProcess
from support.publish_load import publish_load
from support.rabbit_cluster import RabbitCluster
from support.tally import tally
from support.users import SERVICE_SECRET

pytestmark = [pytest.mark.own_broker, pytest.mark.slow]

# How long the database stays down: the worker holds what it received and the rest waits in the queue.
OUTAGE_SECONDS = 5.0


@pytest.fixture
def archive_database() -> Iterator[PostgresServer]:
    """A PostgreSQL of the test's own, to stop and start (the machine's is never stopped)."""
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def cluster_archive_names(rabbit_cluster: RabbitCluster, cluster_names: Names) -> Iterator[ArchiveNames]:
    """The archive's queues beside the test's exchange on the cluster, deleted after the test."""
    created = ArchiveNames.around(cluster_names)
    yield created
    rabbit_cluster.heal()
    delete_topology(
        rabbit_cluster.urls[0], created.dead_letter_exchange, [created.queue, created.dead_letter_queue]
    )


def test_every_message_is_archived_once_through_a_database_stop_and_a_worker_kill(
    rabbit_cluster: RabbitCluster,
    start_gateways: StartGateways,
    cluster_gateway_settings: dict[str, str],
    producer_headers: dict[str, str],
    cluster_archive_names: ArchiveNames,
    archive_database: PostgresServer,
    tmp_path: Path,
) -> None:
    """A gateway publishes (single and batch) while the archive worker stores on its own PostgreSQL;
    the database is stopped for 5 s and started again, then the worker is SIGKILLed and another started:
    the archive's rows are the messages answered 200 (and perhaps some answered 504), each once."""
    worker_env = {
        **rabbit_cluster.service_settings(),
        **cluster_archive_names.env(),
        "MONTY_DATA_DIR": str(tmp_path / "archive"),
        "MONTY_ARCHIVE_DATABASE_URL": archive_database.url,
        "MONTY_SERVICE_SECRET": SERVICE_SECRET,
        # Small batches committed often: at the kill some are received and not yet committed.
        "MONTY_ARCHIVE_PREFETCH": "50",
    }
    workers: list[ServiceProcess] = []

    def start_worker() -> None:
        log = tmp_path / f"archive-worker-{len(workers)}.log"
        workers.append(
            start_archive_worker(worker_env, rabbit_cluster.urls[0], cluster_archive_names.queue, log)
        )

    start_worker()
    [gateway] = start_gateways(1, cluster_gateway_settings)
    try:
        with publish_load([gateway], producer_headers) as load:
            wait_until(lambda: len(archived_rows(archive_database.url)) >= 20, 30, "the first rows")
            archive_database.stop()
            wait_until(
                lambda: "database unavailable" in workers[0].output(), 20, "the worker to meet the outage"
            )
            time.sleep(OUTAGE_SECONDS)
            archive_database.start()
            wait_until(
                lambda: "database available again" in workers[0].output(), RESUME_SECONDS, "the database back"
            )
            stored_before_kill = len(archived_rows(archive_database.url))
            workers[0].kill()
            time.sleep(1)  # the load goes on with no worker: messages wait in the queue
            start_worker()
            wait_until(
                lambda: len(archived_rows(archive_database.url)) > stored_before_kill + 20,
                RESUME_SECONDS,
                "the new worker to store",
            )
        record = load.record
        answered = set(record.answered_ids)
        wait_until(
            lambda: answered <= {row["message_id"] for row in archived_rows(archive_database.url)},
            RESUME_SECONDS,
            "every confirmed message to be archived",
        )
        time.sleep(2)  # anything more (a 504's message) lands now, or a copy would show
        rows = [row["message_id"] for row in archived_rows(archive_database.url)]
    finally:
        for worker in workers:
            worker.kill()
    counted = tally("archive: database stopped, worker killed", record.sent, record.answered_ids, rows)
    assert counted.lost == 0
    assert counted.duplicated == 0
    assert not set(record.not_sent_ids) & set(rows)
