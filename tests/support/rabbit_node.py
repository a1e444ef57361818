"""A RabbitMQ node of a test's own (own node name, port and data directory), to stop and start at will.

With `tls=True` it also listens for AMQP over TLS (amqps) with a certificate for "localhost" signed by
a CA of its own (`node.tls.ca_file`).
"""

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pika
from pika.exceptions import AMQPError

from support.polling import wait_until
from support.ports import free_port
from support.tls import TlsFiles, server_certificates


class RabbitNode:
    """Runs `rabbitmq-server` with its own RABBITMQ_NODENAME, port and data directory."""

    def __init__(self, tls: bool = False) -> None:
        """Choose a node name, ports and a data directory (and make its certificates); nothing starts yet."""
        self.name = f"monty-test-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="monty-rabbit-"))
        # The server drops to the rabbitmq user when started as root.
        self.base.chmod(0o777)
        config = [f"listeners.tcp.default = 127.0.0.1:{self.port}", "loopback_users = none"]
        self.tls: TlsFiles | None = None
        self.tls_port = 0
        if tls:
            self.tls = server_certificates(self.base / "tls")
            self.tls_port = free_port()
            config += [
                f"listeners.ssl.default = 127.0.0.1:{self.tls_port}",
                f"ssl_options.cacertfile = {self.tls.ca_file}",
                f"ssl_options.certfile = {self.tls.cert_file}",
                f"ssl_options.keyfile = {self.tls.key_file}",
                # Clients show no certificate of their own: they log in with a user and password.
                "ssl_options.verify = verify_none",
                "ssl_options.fail_if_no_peer_cert = false",
            ]
        (self.base / "rabbitmq.conf").write_text("\n".join(config) + "\n")
        (self.base / "enabled_plugins").write_text("[].\n")
        for path in self.base.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)

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
            RABBITMQ_PID_FILE=str(self.base / "node.pid"),
        )
        return env

    def start(self, timeout: float = 90.0) -> None:
        """Start the node and wait until it accepts AMQP connections."""
        subprocess.run(["rabbitmq-server", "-detached"], env=self._env(), check=True, capture_output=True)
        what = f"RabbitMQ node {self.name} to accept connections (its logs: {self.base / 'log'})"
        wait_until(self._accepts_connections, timeout, what, 0.5)

    def _accepts_connections(self) -> bool:
        """Whether an AMQP connection to the node opens."""
        try:
            pika.BlockingConnection(pika.URLParameters(self.amqp_url)).close()
        except AMQPError:
            return False
        return True

    def stop(self) -> None:
        """Stop the node and wait until it is gone."""
        self.ctl("stop", check=False)

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

    def remove(self) -> None:
        """Stop the node and delete its data."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
