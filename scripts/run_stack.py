"""Run the whole MontyExchange stack in the foreground: user, auth, exchange and archive services.

Each service runs as its own process on its default port (users 9048, auth 9049, exchange 9047,
archive 9050; the archive worker serves no HTTP),
sharing MONTY_DATA_DIR (default ./var) and every other MONTY_ setting. Ctrl-C stops them all; if
one service stops, the others are stopped too and the stack exits with its status.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pika
from pika.exceptions import AMQPError

from archive_service.settings import ArchiveSettings
from monty_common.broker.connection import connection_parameters, redact_url
from monty_common.serving import broker_unreachable, load_settings
from monty_common.settings import BrokerSettings

ROOT = Path(__file__).resolve().parents[1]
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
    """Whether the archive worker has declared its queue (so the exchange's messages reach it)."""
    settings = ArchiveSettings()
    try:
        connection = pika.BlockingConnection(connection_parameters(settings, "monty stack probe"))
    except AMQPError:
        return False
    try:
        connection.channel().queue_declare(settings.archive_queue, passive=True)
        return True
    except AMQPError:
        return False
    finally:
        if connection.is_open:
            connection.close()


def healthy(port: int | None) -> bool:
    """Whether the service on `port` answers /healthz (without a port: the archive worker is up)."""
    if port is None:
        return archive_queue_declared()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every service still running, newest first, and wait for them."""
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in reversed(processes):
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> int:
    """Check the broker, start each service once the one before it is healthy, then watch them."""
    settings = load_settings(BrokerSettings)
    reason = broker_unreachable(settings)
    if reason is not None:
        print(
            f"montyexchange: cannot reach RabbitMQ at {redact_url(settings.amqp_url)} ({reason}); "
            "start one with `rabbitmq-server -detached` or "
            "`docker run -d -p 5672:5672 rabbitmq:3.10-management`, or set MONTY_AMQP_URL.",
            file=sys.stderr,
        )
        return 1
    # Every service keeps its own default address in the stack.
    env = {k: v for k, v in os.environ.items() if k not in ("MONTY_PORT", "MONTY_HOST")}
    processes: list[subprocess.Popen[bytes]] = []
    signal.signal(signal.SIGTERM, lambda *_: stop(processes))
    try:
        for name, script, port in SERVICES:
            process = subprocess.Popen([sys.executable, str(ROOT / script)], cwd=ROOT, env=env)
            processes.append(process)
            deadline = time.monotonic() + 60
            while not healthy(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    print(f"montyexchange: the {name} service did not start", file=sys.stderr)
                    stop(processes)
                    return process.returncode or 1
                time.sleep(0.2)
        print(
            "montyexchange: exchange on http://127.0.0.1:9047, users :9048, auth :9049, archive :9050 "
            "(Ctrl-C stops)",
            flush=True,
        )
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        stopped = next(process for process in processes if process.poll() is not None)
        stop(processes)
        return stopped.returncode or 0
    except KeyboardInterrupt:
        stop(processes)
        return 0


if __name__ == "__main__":
    sys.exit(main())
