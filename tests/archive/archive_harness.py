"""What the archive's tests share: its names on the broker, the worker as a process, and the rows it wrote."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from archive_service.topology import ArchiveTopology
from monty_common.envelope import stamp
from support.live_server import REPO_ROOT
from support.names import Names

WORKER_SCRIPT = "Microservices/ArchiveMicroservice/worker.py"


@dataclass(frozen=True)
class ArchiveNames(ArchiveTopology):
    """The service's archive topology, on names unique to one test."""

    @classmethod
    def around(cls, names: Names) -> "ArchiveNames":
        """Archive names beside a test's exchange names."""
        tag = uuid.uuid4().hex[:12]
        return cls(
            names.exchange, names.routing_key, f"test-{tag}-archive", f"test.{tag}.dlx", f"test-{tag}-dead"
        )

    def env(self) -> dict[str, str]:
        """The settings naming them."""
        return {
            "MONTY_EXCHANGE": self.exchange,
            "MONTY_ROUTING_KEY": self.routing_key,
            "MONTY_ARCHIVE_QUEUE": self.queue,
            "MONTY_ARCHIVE_DEAD_LETTER_EXCHANGE": self.dead_letter_exchange,
            "MONTY_ARCHIVE_DEAD_LETTER_QUEUE": self.dead_letter_queue,
        }


class WorkerProcess:
    """`python Microservices/ArchiveMicroservice/worker.py` with MONTY_ settings, its output in a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        """Start the worker."""
        self.log_path = log_path
        self._log: IO[str] = open(log_path, "a")  # noqa: SIM115 - closed when the process is reaped
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("MONTY_")}
        full_env.update(env)
        self.process = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / WORKER_SCRIPT)],
            cwd=REPO_ROOT,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no chance to commit, ack or close anything."""
        self.process.send_signal(signal.SIGKILL)
        self._reap()

    def stop(self) -> int:
        """SIGTERM, and the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self._reap()

    def _reap(self) -> int:
        """Wait for the process to exit (killing it after 20 s) and close its log."""
        try:
            code = self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._log.close()
        return code

    def output(self) -> str:
        """What the worker printed so far."""
        return self.log_path.read_text()


WorkerStarter = Callable[..., WorkerProcess]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds, or fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def queue_exists(amqp_url: str, queue: str) -> bool:
    """Whether `queue` has been declared."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        connection.channel().queue_declare(queue, passive=True)
    except ChannelClosedByBroker:
        return False
    finally:
        if connection.is_open:
            connection.close()
    return True


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
