"""MONTY_QUEUE_TYPE on the archive: its queues are of that type, and a queue of the other type stops
the worker at start (exit 2) and is named by the API's /readyz."""

from collections.abc import Callable
from pathlib import Path

import pytest
from flask_openapi3.openapi import OpenAPI

from support.archive import WORKER_SCRIPT, ArchiveNames, WorkerStarter
from support.broker_admin import admin_channel
from support.processes import run_to_exit
from support.queue_types import queue_types
from support.users import SERVICE_SECRET


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_with_quorum_the_archive_queue_and_its_dead_queue_are_quorum_queues(
    start_worker: WorkerStarter, database_url: str, archive_names: ArchiveNames
) -> None:
    """The broker lists both queues the worker declares as quorum queues."""
    start_worker(database_url, MONTY_QUEUE_TYPE="quorum")
    types = queue_types()
    assert types[archive_names.queue] == "quorum"
    assert types[archive_names.dead_letter_queue] == "quorum"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_classic_archive_queue_where_quorum_is_configured_stops_the_worker(
    amqp_url: str, archive_names: ArchiveNames, database_url: str, tmp_path: Path
) -> None:
    """Exit 2 before consuming, with one line naming the queue, both types and what to do."""
    with admin_channel(amqp_url) as channel:
        channel.queue_declare(archive_names.queue, durable=True)
    env = {
        "MONTY_AMQP_URL": amqp_url,
        "MONTY_DATA_DIR": str(tmp_path / "data"),
        "MONTY_ARCHIVE_DATABASE_URL": database_url,
        "MONTY_SERVICE_SECRET": SERVICE_SECRET,
        **archive_names.env(),
        "MONTY_QUEUE_TYPE": "quorum",
    }
    result = run_to_exit(WORKER_SCRIPT, env)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if "exists as a classic queue" in line]
    assert len(lines) == 1, result.stderr
    assert f"queue '{archive_names.queue}'" in lines[0]
    assert f"rabbitmqctl delete_queue {archive_names.queue}" in lines[0]


def test_readyz_names_an_archive_queue_of_the_other_type(
    make_app: Callable[..., OpenAPI], amqp_url: str, archive_names: ArchiveNames
) -> None:
    """The API's readiness declares nothing, yet finds the archive queue is not of the configured type."""
    with admin_channel(amqp_url) as channel:
        channel.queue_declare(archive_names.queue, durable=True)
    ready = make_app(queue_type="quorum").test_client().get("/readyz")
    assert ready.status_code == 503
    assert (
        "exists as a classic queue but MONTY_QUEUE_TYPE is quorum"
        in ready.get_json()["checks"]["archive_queue"]
    )
