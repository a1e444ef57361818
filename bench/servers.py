"""The HTTP servers under test, each a gunicorn master or a granian process with its workers."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
EXCHANGE_APP = ROOT / "Microservices/ExchangeMicroservice/app.py"
MESSAGE_SCHEMA = ROOT / "Microservices/ExchangeMicroservice/schemas/order-message.schema.json"
# What granian's process must import: bench/granian_apps.py and the packages it builds apps from.
GRANIAN_PYTHONPATH = [BENCH, ROOT / "Microservices", ROOT / "Microservices/ExchangeMicroservice"]


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

    def environment(self, port: int) -> dict[str, str]:
        """The servers' environment: this machine's, minus any MONTY_ setting of the caller's own."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("MONTY_")}
        env.update(
            MONTY_HOST="127.0.0.1",
            MONTY_PORT=str(port),
            MONTY_AMQP_URL=self.amqp_url,
            MONTY_EXCHANGE=self.exchange,
            MONTY_QUEUE=self.queue,
            MONTY_ROUTING_KEY=self.routing_key,
            MONTY_JWKS_URL=self.jwks_url,
            MONTY_WORKERS=str(self.workers),
            MONTY_THREADS=str(self.threads),
            MONTY_LOG_LEVEL="WARNING",
            MONTY_DATA_DIR=str(self.data_dir),
        )
        return env


@dataclass
class RunningServer:
    """A server the harness started: its name, base URL and main process (gunicorn's or granian's)."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """The main process's pid (its workers are its children)."""
        return self.process.pid

    def stop(self) -> None:
        """Stop gracefully (SIGTERM lets workers close their broker links), kill if it hangs."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# Each gunicorn server the scenarios use (via monty_common.serving.run_service): the command that starts it.
COMMANDS: dict[str, list[str]] = {
    "gateway": [sys.executable, str(EXCHANGE_APP)],
    "gateway-schema": [sys.executable, str(EXCHANGE_APP)],
    "seed": [sys.executable, str(BENCH / "serve_app.py"), "seed"],
    "noop": [sys.executable, str(BENCH / "serve_app.py"), "noop"],
}
# Each granian server: the factory of bench/granian_apps.py its workers call.
GRANIAN_FACTORIES = {"noop-granian": "granian_apps:noop", "gateway-granian": "granian_apps:exchange"}
# Settings a server adds to ServerConfig.environment.
EXTRA_SETTINGS: dict[str, dict[str, str]] = {"gateway-schema": {"MONTY_MESSAGE_SCHEMA": str(MESSAGE_SCHEMA)}}


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_serving(server: RunningServer, seconds: float = 60) -> None:
    """Return once the server answers HTTP at all; fail with its log if it exits or never answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            requests.get(server.url + "/", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    server.stop()
    tail = server.log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the {server.name} server did not start; its log ends with:\n{tail}")


def granian_command(target: str, config: ServerConfig, port: int) -> list[str]:
    """granian's WSGI server on `target` (module:factory), as many workers and threads as gunicorn's."""
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(config.workers),
        "--blocking-threads", str(config.threads), "--factory", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", target,
    ]  # fmt: skip


def _launch(name: str, config: ServerConfig, port: int) -> tuple[list[str], dict[str, str]]:
    """The command and environment that start server `name` on `port`."""
    env = config.environment(port) | EXTRA_SETTINGS.get(name, {})
    if name in COMMANDS:
        return COMMANDS[name], env
    inherited = [part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part]
    env["PYTHONPATH"] = os.pathsep.join([*map(str, GRANIAN_PYTHONPATH), *inherited])
    return granian_command(GRANIAN_FACTORIES[name], config, port), env


def start_server(name: str, config: ServerConfig) -> RunningServer:
    """Start one of COMMANDS or GRANIAN_FACTORIES on a free port and wait until it answers."""
    port = free_port()
    command, env = _launch(name, config, port)
    log = config.log_dir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=output, stderr=output
        )
    server = RunningServer(name, f"http://127.0.0.1:{port}", process, log)
    _wait_until_serving(server)
    return server
