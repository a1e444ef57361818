"""Run the whole MontyExchange stack in the foreground: user, auth, exchange and archive services.

Each service runs as its own process on its default port (users 9048, auth 9049, exchange 9047,
archive 9050; the archive worker serves no HTTP),
sharing MONTY_DATA_DIR (default ./var) and every other MONTY_ setting. Ctrl-C stops them all; if
one service stops, the others are stopped too and the stack exits with its status.
"""

import os
import signal
import sys
from types import FrameType

from archive_service.readiness import broker_checks
from archive_service.settings import ArchiveSettings
from monty_common.broker.connection import redact_url
from monty_common.serving import broker_unreachable, load_settings
from monty_common.settings import BrokerSettings
from support.processes import ServiceDidNotStart, ServiceProcess, first_to_stop, python_command, stop_all

# Started in this order: the auth service asks the user service, the exchange trusts the auth service.
SERVICES: list[tuple[str, str, int | None]] = [
    ("users", "Microservices/UserMicroservice/app.py", 9048),
    ("auth", "Microservices/AuthMicroservice/app.py", 9049),
    # The archive worker first, so its queue is bound before the exchange takes messages.
    ("archive worker", "Microservices/ArchiveMicroservice/worker.py", None),
    ("exchange", "Microservices/ExchangeMicroservice/app.py", 9047),
    ("archive", "Microservices/ArchiveMicroservice/app.py", 9050),
]


def archive_queue_declared() -> bool:
    """Whether the archive worker has declared its queue (so the exchange's messages reach it),
    asked as the services connect (amqps and MONTY_AMQP_CA_FILE included)."""
    checks, _lag = broker_checks(ArchiveSettings())
    return checks.get("archive_queue") == "ok"


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM stops the stack as Ctrl-C does."""
    raise KeyboardInterrupt


def main() -> int:
    """Check the broker, start each service once the one before it is healthy, then watch them."""
    settings = load_settings(BrokerSettings)
    reason = broker_unreachable(settings)
    if reason is not None:
        print(
            f"montyexchange: cannot reach RabbitMQ at {redact_url(settings.amqp_url)} ({reason}); "
            "start one with `rabbitmq-server -detached` or "
            "`docker run -d -p 127.0.0.1:5672:5672 rabbitmq:3.10-management`, or set MONTY_AMQP_URL.",
            file=sys.stderr,
        )
        return 1
    # Every service keeps its own default address in the stack.
    shared = {
        key: value
        for key, value in os.environ.items()
        if key.startswith("MONTY_") and key not in ("MONTY_PORT", "MONTY_HOST")
    }
    processes: list[ServiceProcess] = []
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for name, script, port in SERVICES:
            process = ServiceProcess(name, python_command(script), shared, port=port)
            processes.append(process)
            try:
                process.wait_healthy(None if port else archive_queue_declared, timeout=60)
            except ServiceDidNotStart:
                print(f"montyexchange: the {name} service did not start", file=sys.stderr)
                stop_all(processes)
                return process.exit_code or 1
        print(
            "montyexchange: exchange on http://127.0.0.1:9047, users :9048, auth :9049, archive :9050 "
            "(Ctrl-C stops)",
            flush=True,
        )
        stopped = first_to_stop(processes)
        stop_all(processes)
        return stopped.exit_code or 0
    except KeyboardInterrupt:
        stop_all(processes)
        return 0


if __name__ == "__main__":
    sys.exit(main())
