"""RabbitMQ's management HTTP API: turned on for the run if it is off, and off again after."""

import base64
import subprocess
from dataclasses import dataclass

import requests

from support.polling import wait_until


def _plugins(*arguments: str) -> str:
    """Run rabbitmq-plugins against the machine's node and return what it printed."""
    done = subprocess.run(
        ["rabbitmq-plugins", *arguments], check=True, capture_output=True, text=True, timeout=120
    )
    return done.stdout


def _explicitly_enabled_plugins() -> set[str]:
    """Names of the plugins someone enabled (not those enabled only as dependencies)."""
    return {line.strip() for line in _plugins("list", "-E", "-m", "-q").splitlines() if line.strip()}


@dataclass(frozen=True)
class ManagementApi:
    """Where the management API listens and the broker user the benchmark logs in as."""

    url: str
    user: str
    password: str

    @property
    def authorization(self) -> str:
        """The Basic authorization header value."""
        return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()

    def answers(self) -> bool:
        """Whether the API answers an authenticated overview request."""
        try:
            response = requests.get(
                f"{self.url}/api/overview", headers={"Authorization": self.authorization}, timeout=3
            )
        except requests.RequestException:
            return False
        return response.status_code == 200

    def ensure_enabled(self, wait: float = 90.0) -> bool:
        """Make the API answer, enabling rabbitmq_management if it is off; True if this call enabled it."""
        if self.answers():
            return False
        enabled = "rabbitmq_management" in _explicitly_enabled_plugins()
        if not enabled:
            _plugins("enable", "rabbitmq_management")
        wait_until(self.answers, wait, f"the management API at {self.url} to answer (plugin enabled)", 1)
        return not enabled

    @staticmethod
    def disable() -> None:
        """Turn the plugin off again, leaving the broker as the harness found it."""
        _plugins("disable", "rabbitmq_management")
