"""Fixtures for the archive service: its names on the broker, worker processes, apps and publishers."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask_openapi3.openapi import OpenAPI

from archive_service import create_app
from archive_service.schema import init_database
from archive_service.settings import ArchiveSettings
from support.apps import AppBuilder
from support.archive import (
    ArchiveNames,
    DirectPublisher,
    WorkerStarter,
    start_archive_worker,
    worker_settings,
)
from support.broker_admin import delete_topology
from support.names import Names
from support.processes import ServiceProcess
from support.tokens import TestKeys
from support.users import SERVICE_SECRET


@pytest.fixture
def archive_names(amqp_url: str, names: Names) -> Iterator[ArchiveNames]:
    """The archive's queues beside the test's exchange, deleted after the test."""
    created = ArchiveNames.around(names)
    yield created
    delete_topology(amqp_url, created.dead_letter_exchange, [created.queue, created.dead_letter_queue])


@pytest.fixture
def start_worker(amqp_url: str, archive_names: ArchiveNames, tmp_path: Path) -> Iterator[WorkerStarter]:
    """Start archive workers on the test's names; each waits until its queue exists. All are killed after."""
    started: list[ServiceProcess] = []

    def start(database_url: str, **settings: str) -> ServiceProcess:
        env = {
            **worker_settings(amqp_url, archive_names, tmp_path / "data", database_url, SERVICE_SECRET),
            **settings,
        }
        log_path = tmp_path / f"worker-{len(started)}.log"
        started.append(start_archive_worker(env, amqp_url, archive_names.queue, log_path))
        return started[-1]

    yield start
    for worker in started:
        worker.kill()


@pytest.fixture
def publisher(amqp_url: str, archive_names: ArchiveNames) -> Iterator[DirectPublisher]:
    """Publishes to the test's exchange as the exchange service would."""
    direct = DirectPublisher(amqp_url, archive_names.exchange, archive_names.routing_key)
    yield direct
    direct.close()


@pytest.fixture
def make_app(
    amqp_url: str, archive_names: ArchiveNames, database_url: str, test_keys: TestKeys, tmp_path: Path
) -> Iterator[Callable[..., OpenAPI]]:
    """Build archive apps on the test's database and names; closed after the test."""
    builder = AppBuilder(
        create_app,
        ArchiveSettings,
        {
            "amqp_url": amqp_url,
            "data_dir": tmp_path / "data",
            "archive_database_url": database_url,
            "jwks_url": test_keys.jwks_url,
            "service_secret": SERVICE_SECRET,
            # No user service here: tokens are not checked for revocation.
            "users_url": "",
            "exchange": archive_names.exchange,
            "routing_key": archive_names.routing_key,
            "archive_queue": archive_names.queue,
            "archive_dead_letter_exchange": archive_names.dead_letter_exchange,
            "archive_dead_letter_queue": archive_names.dead_letter_queue,
            "queue_type": archive_names.queue_type,
        },
        before_create=init_database,
    )
    yield builder
    builder.close_all()
