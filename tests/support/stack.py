"""The whole stack started as users start it (every service, SQLite, unique broker names)."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pika
import requests
from pika.exceptions import AMQPError

from support.broker_admin import delete_topology, publish_json
from support.identity import ADMIN, ADMIN_PASSWORD, Identity
from support.live_server import REPO_ROOT, LiveServer
from support.names import Names, unique_names
from support.rabbit_node import free_port

WORKER_SCRIPT = REPO_ROOT / "Microservices/ArchiveMicroservice/worker.py"


@dataclass
class Stack:
    """The running services by name, their broker names, the service secret and the first admin."""

    services: dict[str, LiveServer]
    names: Names
    secret: str
    admin: tuple[str, str] = (ADMIN, ADMIN_PASSWORD)

    def token(self) -> str:
        """A fresh access token of the first admin, from the live auth service."""
        identity = Identity(self.services["users"], self.services["auth"], self.secret)
        return identity.token(*self.admin)


def queue_exists(amqp_url: str, queue: str) -> bool:
    """Whether `queue` is declared on the broker."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        connection.channel().queue_declare(queue, passive=True)
        return True
    except AMQPError:
        return False
    finally:
        if connection.is_open:
            connection.close()


def start_archive_worker(
    env: dict[str, str], amqp_url: str, queue: str, log: Path
) -> subprocess.Popen[bytes]:
    """The archive worker, once it has declared its queue (so it archives what the exchange takes)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MONTY_")} | env
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        worker = subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT)],
            cwd=REPO_ROOT,
            env=full_env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while not queue_exists(amqp_url, queue):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise RuntimeError(f"archive worker did not start: {log.read_text()}")
        time.sleep(0.2)
    return worker


def archive_some_messages(stack: Stack, token: str, count: int = 3) -> None:
    """Publish `count` messages and wait until the archive lists them, so its routes have data."""
    headers = {"Authorization": f"Bearer {token}"}
    for number in range(count):
        published = requests.post(
            stack.services["exchange"].url + "/Message", json={"n": number}, headers=headers, timeout=10
        )
        published.raise_for_status()
    listing = stack.services["archive"].url + "/Messages"
    deadline = time.monotonic() + 30
    while len(requests.get(listing, headers=headers, timeout=10).json()["items"]) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the archive did not store the published messages")
        time.sleep(0.2)


def fill_queue(amqp_url: str, queue: str, count: int) -> None:
    """Put `count` small JSON messages straight into `queue` (not through the exchange, not archived)."""
    publish_json(amqp_url, "", queue, (b'{"filler": %d}' % number for number in range(count)))


@contextmanager
def running_stack(
    amqp_url: str,
    data: Path,
    *,
    auth_env: dict[str, str] | None = None,
    exchanges: dict[str, dict[str, str]] | None = None,
    archive_worker: bool = False,
) -> Iterator[Stack]:
    """Users, auth, the exchange(s), the archive API (and worker) up; all stopped and cleaned after.

    `exchanges` maps a name to the extra settings of an exchange service (one plain "exchange" by
    default); every exchange shares the stack's exchange, queue and routing key.
    """
    names = unique_names()
    tag = uuid.uuid4().hex[:12]
    archive_queue, dlx, dead = f"test-{tag}-archive", f"test.{tag}.dlx", f"test-{tag}-dead"
    auth_port = free_port()
    jwks = f"http://127.0.0.1:{auth_port}/.well-known/jwks.json"
    secret = f"stack-secret-{tag}"
    topology = {
        "MONTY_AMQP_URL": amqp_url,
        "MONTY_EXCHANGE": names.exchange,
        "MONTY_ROUTING_KEY": names.routing_key,
        "MONTY_JWKS_URL": jwks,
    }
    archive = {
        **topology,
        "MONTY_DATA_DIR": str(data / "archive"),
        "MONTY_ARCHIVE_QUEUE": archive_queue,
        "MONTY_ARCHIVE_DEAD_LETTER_EXCHANGE": dlx,
        "MONTY_ARCHIVE_DEAD_LETTER_QUEUE": dead,
    }
    services: dict[str, LiveServer] = {}
    worker = None
    # Kept with the other test artifacts: what each service logged, for a failure to be read after.
    logs = REPO_ROOT / "artifacts" / "server-logs" / tag

    def serve(name: str, script: str, env: dict[str, str], port: int | None = None) -> None:
        services[name] = LiveServer(script, env, port, log_path=logs / f"{name.replace(' ', '-')}.log")

    try:
        serve(
            "users",
            "Microservices/UserMicroservice/app.py",
            {
                "MONTY_SERVICE_SECRET": secret,
                "MONTY_DATA_DIR": str(data / "users"),
                "MONTY_ADMIN_USERNAME": ADMIN,
                "MONTY_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "MONTY_JWKS_URL": jwks,
            },
        )
        # Each service calls the others only when a request needs them, so all start at once.
        serve(
            "auth",
            "Microservices/AuthMicroservice/app.py",
            {
                "MONTY_SERVICE_SECRET": secret,
                "MONTY_DATA_DIR": str(data / "auth"),
                "MONTY_USERS_URL": services["users"].url,
                **(auth_env or {}),
            },
            auth_port,
        )
        if archive_worker:
            worker = start_archive_worker(archive, amqp_url, archive_queue, logs / "archive-worker.log")
        for name, extra in (exchanges or {"exchange": {}}).items():
            serve(
                name,
                "Microservices/ExchangeMicroservice/app.py",
                {**topology, "MONTY_QUEUE": names.queue, "MONTY_DATA_DIR": str(data / "exchange"), **extra},
            )
        serve("archive", "Microservices/ArchiveMicroservice/app.py", archive)
        for server in services.values():
            server.wait_healthy()
        yield Stack(services, names, secret)
    finally:
        for server in services.values():
            if server.process.poll() is None:
                server.process.terminate()
        for server in services.values():
            server.output()
        if worker is not None:
            worker.terminate()
            worker.wait(20)
        delete_topology(amqp_url, names.exchange, [names.queue, archive_queue])
        delete_topology(amqp_url, dlx, [dead])
