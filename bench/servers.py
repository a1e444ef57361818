"""The HTTP servers under test, each a gunicorn master or a granian process with its workers."""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from support.paths import REPO_ROOT
from support.ports import free_port
from support.processes import ServiceDidNotStart, ServiceProcess, python_command, responds

EXCHANGE_APP = "Microservices/ExchangeMicroservice/app.py"
MESSAGE_SCHEMA = REPO_ROOT / "Microservices/ExchangeMicroservice/schemas/order-message.schema.json"
# What granian's process must import: bench/granian_apps.py and the packages it builds apps from.
GRANIAN_PYTHONPATH = [
    REPO_ROOT / "bench",
    REPO_ROOT / "Microservices",
    REPO_ROOT / "Microservices/ExchangeMicroservice",
]


@dataclass(frozen=True)
class ServerConfig:
    """What every server under test shares: broker, names, token keys, workers and threads."""

    amqp_url: str
    exchange: str
    queue: str
    routing_key: str
    jwks_url: str
    workers: int
    threads: int
    data_dir: Path
    log_dir: Path

    def settings(self, port: int) -> dict[str, str]:
        """The servers' MONTY_ settings (the caller's own MONTY_ variables are not passed on)."""
        return {
            "MONTY_HOST": "127.0.0.1",
            "MONTY_PORT": str(port),
            "MONTY_AMQP_URL": self.amqp_url,
            "MONTY_EXCHANGE": self.exchange,
            "MONTY_QUEUE": self.queue,
            "MONTY_ROUTING_KEY": self.routing_key,
            "MONTY_JWKS_URL": self.jwks_url,
            # The bench runs no user service: tokens are verified, not checked for revocation
            # (a cached look-up per request when they are).
            "MONTY_USERS_URL": "",
            "MONTY_WORKERS": str(self.workers),
            "MONTY_THREADS": str(self.threads),
            "MONTY_LOG_LEVEL": "WARNING",
            "MONTY_DATA_DIR": str(self.data_dir),
        }


# Each gunicorn server the scenarios use (via monty_common.serving.run_service): the command that starts it.
COMMANDS: dict[str, list[str]] = {
    "gateway": python_command(EXCHANGE_APP),
    "gateway-schema": python_command(EXCHANGE_APP),
    "gateway-no-metrics": python_command(EXCHANGE_APP),
    "seed": python_command("bench/serve_app.py", "seed"),
    "noop": python_command("bench/serve_app.py", "noop"),
}
# Each granian server: the factory of bench/granian_apps.py its workers call.
GRANIAN_FACTORIES = {"noop-granian": "granian_apps:noop", "gateway-granian": "granian_apps:exchange"}
# Settings a server adds to ServerConfig.settings.
EXTRA_SETTINGS: dict[str, dict[str, str]] = {
    "gateway-schema": {"MONTY_MESSAGE_SCHEMA": str(MESSAGE_SCHEMA)},
    "gateway-no-metrics": {"MONTY_METRICS": "false"},
}


def granian_command(target: str, config: ServerConfig, port: int) -> list[str]:
    """granian's WSGI server on `target` (module:factory), as many workers and threads as gunicorn's."""
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(config.workers),
        "--blocking-threads", str(config.threads), "--factory", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", target,
    ]  # fmt: skip


def _launch(name: str, config: ServerConfig, port: int) -> tuple[list[str], dict[str, str]]:
    """The command and settings that start server `name` on `port`."""
    settings = config.settings(port) | EXTRA_SETTINGS.get(name, {})
    if name in COMMANDS:
        return COMMANDS[name], settings
    inherited = [part for part in os.environ.get("PYTHONPATH", "").split(os.pathsep) if part]
    settings["PYTHONPATH"] = os.pathsep.join([*map(str, GRANIAN_PYTHONPATH), *inherited])
    return granian_command(GRANIAN_FACTORIES[name], config, port), settings


def start_server(name: str, config: ServerConfig) -> ServiceProcess:
    """Start one of COMMANDS or GRANIAN_FACTORIES on a free port; return once it answers HTTP at all."""
    port = free_port()
    command, settings = _launch(name, config, port)
    server = ServiceProcess(name, command, settings, config.log_dir / f"{name}.log", port)
    try:
        # The comparison apps have no /healthz: any answer means the server is serving.
        server.wait_healthy(lambda: responds(server.url + "/", status=None), timeout=60)
    except ServiceDidNotStart:
        server.stop()
        raise
    return server
