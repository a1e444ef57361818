"""Run the whole MontyExchange stack in the foreground: user, auth, exchange and archive services.

Each service runs as its own process on its port (users 9048, auth 9049, exchange 9047, archive
9050, or MONTY_STACK_<SERVICE>_PORT; the archive worker serves only its metrics, on
MONTY_WORKER_METRICS_PORT, 9051 by default), sharing MONTY_DATA_DIR (default ./var) and every other
MONTY_ setting. A service that stops is started again after a pause that grows while it keeps
stopping, saying so; Ctrl-C (or SIGTERM) stops them all.
"""

import os
import signal
import sys
import time
from dataclasses import dataclass
from types import FrameType

from archive_service.readiness import broker_checks
from archive_service.settings import ArchiveSettings
from monty_common.backoff import Backoff
from monty_common.broker.connection import redact_url
from monty_common.serving import broker_unreachable, load_settings
from monty_common.settings import BrokerSettings
from support.processes import ServiceDidNotStart, ServiceProcess, first_to_stop, python_command, stop_all

# A service that ran this long before it stopped is started again without a pause.
STEADY_SECONDS = 30.0


@dataclass(frozen=True)
class Service:
    """One process of the stack: its name, script and default port (None: it serves no HTTP)."""

    name: str
    script: str
    default_port: int | None

    def port(self) -> int | None:
        """Its port: MONTY_STACK_<NAME>_PORT, or the default."""
        if self.default_port is None:
            return None
        variable = f"MONTY_STACK_{self.name.upper()}_PORT"
        return int(os.environ.get(variable, self.default_port))


USERS = Service("users", "Microservices/UserMicroservice/app.py", 9048)
AUTH = Service("auth", "Microservices/AuthMicroservice/app.py", 9049)
# Started in this order: the auth service asks the user service, the exchange trusts the auth service,
# and the archive worker binds its queue before the exchange takes messages.
SERVICES = [
    USERS,
    AUTH,
    Service("archive worker", "Microservices/ArchiveMicroservice/worker.py", None),
    Service("exchange", "Microservices/ExchangeMicroservice/app.py", 9047),
    Service("archive", "Microservices/ArchiveMicroservice/app.py", 9050),
]


def archive_queue_declared() -> bool:
    """Whether the archive worker has declared its queue (so the exchange's messages reach it),
    asked as the services connect (amqps and MONTY_AMQP_CA_FILE included)."""
    checks, _lag = broker_checks(ArchiveSettings())
    return checks.get("archive_queue") == "ok"


def shared_settings() -> dict[str, str]:
    """The MONTY_ settings every service gets, pointing each at the others' ports."""
    shared = {
        key: value
        for key, value in os.environ.items()
        if key.startswith("MONTY_") and key not in ("MONTY_PORT", "MONTY_HOST")
    }
    shared.setdefault("MONTY_USERS_URL", f"http://127.0.0.1:{USERS.port()}")
    shared.setdefault("MONTY_JWKS_URL", f"http://127.0.0.1:{AUTH.port()}/.well-known/jwks.json")
    return shared


def start(service: Service, shared: dict[str, str]) -> ServiceProcess:
    """Start `service` on its port."""
    port = service.port()
    settings = shared if port is None else {**shared, "MONTY_PORT": str(port)}
    return ServiceProcess(service.name, python_command(service.script), settings, port=port)


def supervise(processes: dict[Service, ServiceProcess], shared: dict[str, str]) -> None:
    """Start again whichever service stops, after a pause that grows while it keeps stopping."""
    backoffs = {service: Backoff(initial=1.0, cap=30.0) for service in processes}
    started = {service: time.monotonic() for service in processes}
    while True:
        stopped = first_to_stop(list(processes.values()))
        service = next(service for service, process in processes.items() if process is stopped)
        if time.monotonic() - started[service] >= STEADY_SECONDS:
            backoffs[service].reset()
        pause = backoffs[service].next_delay()
        print(
            f"montyexchange: the {service.name} service stopped (exit status {stopped.exit_code}); "
            f"starting it again in {pause:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(pause)
        processes[service] = start(service, shared)
        started[service] = time.monotonic()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM stops the stack as Ctrl-C does."""
    raise KeyboardInterrupt


def main() -> int:
    """Check the broker, start each service once the one before it is healthy, then keep them running."""
    settings = load_settings(BrokerSettings)
    reason = broker_unreachable(settings)
    if reason is not None:
        addresses = ", ".join(redact_url(url) for url in settings.broker_urls)
        print(
            f"montyexchange: cannot reach RabbitMQ at {addresses} ({reason}); "
            "start one with `rabbitmq-server -detached` or "
            "`docker run -d -p 127.0.0.1:5672:5672 rabbitmq:3.10-management`, or set MONTY_AMQP_URL.",
            file=sys.stderr,
        )
        return 1
    shared = shared_settings()
    processes: dict[Service, ServiceProcess] = {}
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for service in SERVICES:
            process = processes[service] = start(service, shared)
            try:
                process.wait_healthy(None if service.default_port else archive_queue_declared, timeout=60)
            except ServiceDidNotStart:
                print(f"montyexchange: the {service.name} service did not start", file=sys.stderr)
                stop_all(list(processes.values()))
                return process.exit_code or 1
        ports = {service.name: service.port() for service in SERVICES if service.default_port}
        print(
            f"montyexchange: exchange on http://127.0.0.1:{ports['exchange']}, users :{ports['users']}, "
            f"auth :{ports['auth']}, archive :{ports['archive']} (Ctrl-C stops)",
            flush=True,
        )
        supervise(processes, shared)
    except KeyboardInterrupt:
        stop_all(list(processes.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
