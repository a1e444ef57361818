"""The archive as tests drive it: its names on the broker, its worker as a process, the rows it wrote."""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from archive_service.topology import ArchiveTopology
from monty_common.envelope import stamp
from support.broker_admin import queue_exists
from support.names import Names
from support.ports import free_port
from support.processes import ServiceDidNotStart, ServiceProcess, python_command
from support.queue_types import queue_type_under_test

WORKER_SCRIPT = "Microservices/ArchiveMicroservice/worker.py"
# A fixture's way to start workers: a database URL, then settings such as MONTY_ARCHIVE_PREFETCH="20".
WorkerStarter = Callable[..., ServiceProcess]


@dataclass(frozen=True)
class ArchiveNames(ArchiveTopology):
    """The service's archive topology, on names unique to one test."""

    @classmethod
    def around(cls, names: Names) -> "ArchiveNames":
        """Archive names beside a test's exchange names."""
        tag = uuid.uuid4().hex[:12]
        return cls(
            names.exchange,
            names.routing_key,
            f"test-{tag}-archive",
            f"test.{tag}.dlx",
            f"test-{tag}-dead",
            queue_type_under_test(),
        )

    def env(self) -> dict[str, str]:
        """The settings naming them."""
        return {
            "MONTY_EXCHANGE": self.exchange,
            "MONTY_ROUTING_KEY": self.routing_key,
            "MONTY_ARCHIVE_QUEUE": self.queue,
            "MONTY_ARCHIVE_DEAD_LETTER_EXCHANGE": self.dead_letter_exchange,
            "MONTY_ARCHIVE_DEAD_LETTER_QUEUE": self.dead_letter_queue,
            "MONTY_QUEUE_TYPE": self.queue_type,
        }


def worker_settings(
    amqp_url: str, names: ArchiveNames, data_dir: Path, database_url: str, service_secret: str
) -> dict[str, str]:
    """The settings of a worker archiving `names`' messages into `database_url`."""
    return {
        "MONTY_AMQP_URL": amqp_url,
        "MONTY_DATA_DIR": str(data_dir),
        "MONTY_ARCHIVE_DATABASE_URL": database_url,
        "MONTY_SERVICE_SECRET": service_secret,
        **names.env(),
    }


def start_archive_worker(
    settings: dict[str, str], amqp_url: str, queue: str, log_path: Path
) -> ServiceProcess:
    """`python Microservices/ArchiveMicroservice/worker.py`, once it has declared `queue` on the broker.

    From then on it archives every message the exchange takes; a worker that does not get there is killed.
    Its metrics are served on a free port unless `settings` name one (its `url`).
    """
    port = int(settings.get("MONTY_WORKER_METRICS_PORT") or free_port())
    settings = {"MONTY_WORKER_METRICS_PORT": str(port), **settings}
    worker = ServiceProcess("archive worker", python_command(WORKER_SCRIPT), settings, log_path, port)
    try:
        worker.wait_healthy(lambda: queue_exists(amqp_url, queue))
    except ServiceDidNotStart:
        worker.kill()
        raise
    return worker


def archived_rows(database_url: str) -> list[dict[str, Any]]:
    """Every archived row, in id order (an empty list while the table does not exist)."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT * FROM archived_messages ORDER BY id"))
            return [dict(row._mapping) for row in rows]
    except Exception:
        return []
    finally:
        engine.dispose()


def archived_bodies(database_url: str) -> dict[str, str]:
    """message_id -> stored body; fails if any message_id was stored twice."""
    rows = archived_rows(database_url)
    bodies = {row["message_id"]: row["body"] for row in rows}
    assert len(bodies) == len(rows), "a message_id was stored twice"
    return bodies


class DirectPublisher:
    """Publishes as the exchange service does (same properties), straight over AMQP with confirms."""

    def __init__(self, amqp_url: str, exchange: str, routing_key: str) -> None:
        """Open a connection and a confirming channel."""
        self.exchange = exchange
        self.routing_key = routing_key
        self._connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        self.channel: BlockingChannel = self._connection.channel()
        self.channel.confirm_delivery()

    def publish(self, body: bytes, message_id: str | None = None, producer: str = "producer-1") -> str:
        """Publish `body` persistently with the exchange's headers; return its message_id."""
        properties = stamp(producer, producer, datetime.now(UTC), message_id)
        self.channel.basic_publish(self.exchange, self.routing_key, body, properties)
        return str(properties.message_id)

    def publish_raw(self, body: bytes, properties: pika.BasicProperties) -> None:
        """Publish with properties of the caller's choosing."""
        self.channel.basic_publish(self.exchange, self.routing_key, body, properties)

    def publish_many(self, count: int, tag: str = "") -> dict[str, bytes]:
        """Publish `count` small JSON messages; message_id -> body."""
        sent: dict[str, bytes] = {}
        for number in range(count):
            body = json.dumps({"n": number, "tag": tag}).encode()
            sent[self.publish(body)] = body
        return sent

    def close(self) -> None:
        """Close the connection."""
        if self._connection.is_open:
            self._connection.close()


def rename_table(database_url: str, old: str, new: str) -> None:
    """Rename a table of the archive database: the worker's inserts fail while its table is away."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
    finally:
        engine.dispose()
