"""A RabbitMQ node of a test's own (own node name, port and data directory), to stop and start at will.

With `tls=True` it also listens for AMQP over TLS (amqps) with a certificate for "localhost" signed by
a CA of its own (`node.tls.ca_file`).
"""

import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pika
from pika.exceptions import AMQPError

from support.polling import wait_until
from support.ports import free_port
from support.tls import TlsFiles, server_certificates


class RabbitNode:
    """Runs `rabbitmq-server` with its own RABBITMQ_NODENAME, port and data directory."""

    def __init__(self, tls: bool = False, name: str | None = None, config: Sequence[str] = ()) -> None:
        """Choose a node name (unless given), ports and a data directory (and make its certificates);
        nothing starts yet. `config` lines are added to its rabbitmq.conf."""
        self.name = name or f"monty-test-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="monty-rabbit-"))
        # The server drops to the rabbitmq user when started as root.
        self.base.chmod(0o777)
        lines = [f"listeners.tcp.default = 127.0.0.1:{self.port}", "loopback_users = none"]
        self.tls: TlsFiles | None = None
        self.tls_port = 0
        if tls:
            self.tls = server_certificates(self.base / "tls")
            self.tls_port = free_port()
            lines += [
                f"listeners.ssl.default = 127.0.0.1:{self.tls_port}",
                f"ssl_options.cacertfile = {self.tls.ca_file}",
                f"ssl_options.certfile = {self.tls.cert_file}",
                f"ssl_options.keyfile = {self.tls.key_file}",
                # Clients show no certificate of their own: they log in with a user and password.
                "ssl_options.verify = verify_none",
                "ssl_options.fail_if_no_peer_cert = false",
            ]
        (self.base / "rabbitmq.conf").write_text("\n".join([*lines, *config]) + "\n")
        (self.base / "enabled_plugins").write_text("[].\n")
        for path in self.base.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)

    @property
    def pid_file(self) -> Path:
        """Where the node writes its Erlang VM's process id."""
        return self.base / "node.pid"

    @property
    def amqp_url(self) -> str:
        """URL of the node's AMQP listener."""
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def amqps_url(self) -> str:
        """URL of the node's TLS listener, by the name its certificate is for."""
        assert self.tls is not None, "the node was made without tls=True"
        return f"amqps://guest:guest@localhost:{self.tls_port}/"

    def _env(self) -> dict[str, str]:
        """Environment that points the rabbitmq scripts at this node alone."""
        env = dict(os.environ)
        env.update(
            RABBITMQ_NODENAME=self.name,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_CONFIG_FILE=str(self.base / "rabbitmq.conf"),
            RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
            RABBITMQ_PID_FILE=str(self.pid_file),
        )
        return env

    def start(self, timeout: float = 90.0) -> None:
        """Start the node and wait until it accepts AMQP connections."""
        subprocess.run(["rabbitmq-server", "-detached"], env=self._env(), check=True, capture_output=True)
        what = f"RabbitMQ node {self.name} to accept connections (its logs: {self.base / 'log'})"
        try:
            wait_until(self.accepts_connections, timeout, what, 0.5)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self._log_tail()}") from None

    def _log_tail(self, lines: int = 30) -> str:
        """The last lines of the node's logs, to say why it did not start."""
        tails = []
        for log in sorted((self.base / "log").glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            tails.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(tails) or "(no log)"

    def accepts_connections(self) -> bool:
        """Whether an AMQP connection to the node opens."""
        try:
            pika.BlockingConnection(pika.URLParameters(self.amqp_url)).close()
        except AMQPError:
            return False
        return True

    def stop(self) -> None:
        """Stop the node and wait until its VM has exited."""
        self.ctl("stop", str(self.pid_file), check=False)

    def kill(self) -> None:
        """SIGKILL the node's Erlang VM (a crash: nothing is flushed or handed over); wait until gone."""
        pid = self.os_pid()
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not _alive(pid), 30, f"{self.name}'s VM to exit", 0.1)

    def os_pid(self) -> int:
        """The operating system's id of the node's Erlang VM, as the running node tells it."""
        return int(self.ctl("eval", "os:getpid().").strip().strip('"'))

    def kill_quietly(self) -> None:
        """SIGKILL the VM named by the node's pid file, if it still runs (for a node that will not stop)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)

    def ctl(self, *args: str, check: bool = True) -> str:
        """Run rabbitmqctl against this node."""
        result = subprocess.run(
            ["rabbitmqctl", "-n", self.name, *args],
            env=self._env(),
            check=check,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout

    @contextmanager
    def queue_policy(self, queue: str, definition: str) -> Iterator[None]:
        """Apply the policy `definition` (JSON) to `queue` alone while the block runs."""
        name = f"limit-{queue}"
        self.ctl("set_policy", name, f"^{queue}$", definition, "--apply-to", "queues")
        try:
            yield
        finally:
            self.ctl("clear_policy", name)

    def remove(self) -> None:
        """Stop the node and delete its data."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (a daemon's zombie waits for whoever reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    # The state follows the command name, which is in parentheses and may hold spaces.
    return stat.rpartition(")")[2].split()[0] != "Z"
