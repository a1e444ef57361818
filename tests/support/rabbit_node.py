"""A RabbitMQ node of a test's own (own node name, port and data directory), to stop and start at will."""

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


class RabbitNode:
    """Runs `rabbitmq-server` with its own RABBITMQ_NODENAME, port and data directory."""

    def __init__(self) -> None:
        """Choose a node name, ports and a data directory; nothing starts yet."""
        self.name = f"monty-test-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="monty-rabbit-"))
        # The server drops to the rabbitmq user when started as root.
        self.base.chmod(0o777)
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        (self.base / "enabled_plugins").write_text("[].\n")
        for path in self.base.iterdir():
            path.chmod(0o644)

    @property
    def amqp_url(self) -> str:
        """URL of the node's AMQP listener."""
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

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
