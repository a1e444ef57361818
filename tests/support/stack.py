"""The whole stack started as users start it (every service, SQLite, unique broker names)."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from exchange_service.settings import ExchangeSettings
from monty_common.broker import dead_letter_queue_of
from support.archive import ArchiveNames, start_archive_worker
from support.broker_admin import delete_delay_queues, delete_topology, publish_json
from support.identity import ADMIN, ADMIN_PASSWORD, Identity
from support.names import Names, unique_names
from support.paths import REPO_ROOT
from support.polling import wait_until
from support.ports import free_port
from support.processes import ServiceProcess, start_service, stop_all

# The exchanges' MONTY_MAX_DELAY: every delay queue a client could make them declare.
DEFAULT_MAX_DELAY: int = ExchangeSettings.model_fields["max_delay"].default


@dataclass
class Stack:
    """The running services by name, their broker names, the service secret and the first admin."""

    services: dict[str, ServiceProcess]
    names: Names
    secret: str
    admin: tuple[str, str] = (ADMIN, ADMIN_PASSWORD)

    def token(self) -> str:
        """A fresh access token of the first admin, from the live auth service."""
        identity = Identity(self.services["users"], self.services["auth"], self.secret)
        return identity.token(*self.admin)


def archive_some_messages(stack: Stack, token: str, count: int = 3) -> None:
    """Publish `count` messages and wait until the archive lists them, so its routes have data."""
    headers = {"Authorization": f"Bearer {token}"}
    for number in range(count):
        published = requests.post(
            stack.services["exchange"].url + "/Message", json={"n": number}, headers=headers, timeout=10
        )
        published.raise_for_status()
    listing = stack.services["archive"].url + "/Messages"
    wait_until(
        lambda: len(requests.get(listing, headers=headers, timeout=10).json()["items"]) >= count,
        30,
        "the archive to store the published messages",
        0.2,
    )


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
    common_env: dict[str, str] | None = None,
    token_checks: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """Users, auth, the exchange(s), the archive API (and worker) up; all stopped and cleaned after.

    `exchanges` maps a name to the extra settings of an exchange service (one plain "exchange" by
    default); every exchange shares the stack's exchange, queue and routing key. `common_env` goes
    to every service. `token_checks` are extra settings of the services that accept tokens from the
    user service's users (the exchanges and the archive API), which ask it whether tokens were revoked.
    """
    names = unique_names()
    archive_names = ArchiveNames.around(names)
    tag = uuid.uuid4().hex[:12]
    auth_port = free_port()
    jwks = f"http://127.0.0.1:{auth_port}/.well-known/jwks.json"
    secret = f"stack-secret-{tag}"
    topology = {
        "MONTY_AMQP_URL": amqp_url,
        "MONTY_EXCHANGE": names.exchange,
        "MONTY_ROUTING_KEY": names.routing_key,
        "MONTY_JWKS_URL": jwks,
        # The exchange signs each message's producer with it; the archive checks the signature.
        "MONTY_SERVICE_SECRET": secret,
    }
    archive = {**topology, "MONTY_DATA_DIR": str(data / "archive"), **archive_names.env()}
    services: dict[str, ServiceProcess] = {}
    started: list[ServiceProcess] = []
    # Kept with the other test artifacts: what each service logged, for a failure to be read after.
    logs = REPO_ROOT / "artifacts" / "server-logs" / tag

    def serve(name: str, script: str, env: dict[str, str], port: int | None = None) -> None:
        env = {**(common_env or {}), **env}
        services[name] = start_service(script, env, logs / f"{name.replace(' ', '-')}.log", port, name)
        started.append(services[name])

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
        revocation = {
            "MONTY_SERVICE_SECRET": secret,
            "MONTY_USERS_URL": services["users"].url,
            **(token_checks or {}),
        }
        if archive_worker:
            worker_env = {**(common_env or {}), **archive}
            started.append(
                start_archive_worker(worker_env, amqp_url, archive_names.queue, logs / "archive-worker.log")
            )
        for name, extra in (exchanges or {"exchange": {}}).items():
            serve(
                name,
                "Microservices/ExchangeMicroservice/app.py",
                {
                    **topology,
                    **revocation,
                    "MONTY_QUEUE": names.queue,
                    "MONTY_DATA_DIR": str(data / "exchange"),
                    **extra,
                },
            )
        serve("archive", "Microservices/ArchiveMicroservice/app.py", {**archive, **revocation})
        for server in services.values():
            server.wait_healthy()
        yield Stack(services, names, secret)
    finally:
        stop_all(started)
        # Clients (the contract fuzzer) may have delayed messages (published, or released by a nack)
        # by any number of seconds allowed.
        delete_delay_queues(
            amqp_url, [(names.exchange, names.routing_key), ("", names.queue)], DEFAULT_MAX_DELAY
        )
        delete_topology(
            amqp_url, names.exchange, [names.queue, dead_letter_queue_of(names.queue), archive_names.queue]
        )
        delete_topology(amqp_url, archive_names.dead_letter_exchange, [archive_names.dead_letter_queue])
