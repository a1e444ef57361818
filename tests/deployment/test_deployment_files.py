"""Deployment files are checked as files: no Docker engine is needed to catch their mistakes."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.paths import REPO_ROOT

BIN = Path(sys.executable).parent
DOCKERFILES = sorted(REPO_ROOT.glob("Deployment/**/Dockerfile"))
COMPOSE_FILES = sorted(REPO_ROOT.glob("Deployment/**/docker-compose*.yml"))
WORKFLOWS = sorted(REPO_ROOT.glob(".github/workflows/*.yml"))
SCRIPTS = sorted(
    [*REPO_ROOT.glob("Deployment/**/*.sh"), *REPO_ROOT.glob("scripts/*.sh"), REPO_ROOT / ".ci/run"]
)


def _tool(name: str) -> str:
    """A tool installed beside this interpreter (from requirements-dev.txt)."""
    path = BIN / name
    assert path.exists(), f"{name} is missing: install requirements-dev.txt"
    return str(path)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a checker and keep its output for the assertion message."""
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, cwd=REPO_ROOT)


def test_every_deployment_kind_is_present() -> None:
    """The exchange's Docker files and at least one workflow exist."""
    folder = REPO_ROOT / "Deployment/Docker/MontyExchangeMicroservice"
    assert (folder / "Dockerfile") in DOCKERFILES
    assert (folder / "docker-compose.yml") in COMPOSE_FILES
    assert (folder / "build_docker_image.sh") in SCRIPTS
    assert WORKFLOWS


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    """hadolint finds nothing to say about the Dockerfile."""
    result = _run(_tool("hadolint"), str(dockerfile))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_dockerfile_runs_as_non_root_from_a_pinned_base(dockerfile: Path) -> None:
    """Every FROM names an exact Python patch release, and the last USER is not root."""
    lines = [line.strip() for line in dockerfile.read_text().splitlines()]
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert bases
    assert all(":" in base and base.split(":")[1][0].isdigit() and base.count(".") >= 2 for base in bases)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")


@pytest.mark.parametrize("compose", COMPOSE_FILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_compose_file_matches_the_compose_spec(compose: Path) -> None:
    """The compose file validates against the Compose specification's schema."""
    result = _run(_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(compose))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_workflow_schema(workflow: Path) -> None:
    """Each workflow validates against GitHub's workflow schema."""
    result = _run(_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_parse_and_are_executable(script: Path) -> None:
    """shellcheck finds nothing, and the script can be run as the README shows."""
    result = _run(_tool("shellcheck"), str(script))
    assert result.returncode == 0, result.stdout
    assert script.stat().st_mode & 0o111


def test_the_image_data_directory_is_private() -> None:
    """MONTY_DATA_DIR of the image is created 0700 and owned by the service's user, not 0755."""
    text = (REPO_ROOT / "Deployment/Docker/MontyExchangeMicroservice/Dockerfile").read_text()
    data_dir = re.search(r"MONTY_DATA_DIR=(\S+)", text)
    assert data_dir is not None
    created = re.search(rf"install -d -m 0700 -o monty -g monty {re.escape(data_dir.group(1))}\b", text)
    assert created is not None, "the data directory is not created 0700 for the monty user"
    assert not re.search(rf"(mkdir|chmod)[^\n]*{re.escape(data_dir.group(1))}", text)


COMPOSE = REPO_ROOT / "Deployment/Docker/MontyExchangeMicroservice/docker-compose.yml"
# The broker user the services log in as: required from the environment, like every secret.
BROKER_USER = "${MONTY_RABBITMQ_USER:?"
BROKER_PASSWORD = "${MONTY_RABBITMQ_PASSWORD:?"
BROKER_PORTS = {"5671", "5672", "15671", "15672", "25672", "4369"}


def _services() -> dict[str, dict[str, Any]]:
    """The compose file's services, as parsed YAML."""
    services: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def _container_port(port: object) -> str:
    """The container port of a published port, in the short ("127.0.0.1:80:8080/tcp") or long syntax."""
    if isinstance(port, dict):
        return str(port["target"])
    return str(port).split(":")[-1].split("/")[0]


def test_the_broker_publishes_no_port() -> None:
    """No broker port (AMQP, management, clustering) is published on any host interface."""
    for name, service in _services().items():
        for port in service.get("ports", []):
            assert _container_port(port) not in BROKER_PORTS, (name, port)
    assert "ports" not in _services()["rabbitmq"]
    # The way to reach the management UI, left commented out, binds to loopback only.
    assert re.search(r'#\s*- "127\.0\.0\.1:15672:15672"', COMPOSE.read_text())


def test_the_broker_has_its_own_user_from_the_environment() -> None:
    """RabbitMQ's default user is set from required variables, so guest is never created."""
    environment = _services()["rabbitmq"]["environment"]
    assert environment["RABBITMQ_DEFAULT_USER"].startswith(BROKER_USER)
    assert environment["RABBITMQ_DEFAULT_PASS"].startswith(BROKER_PASSWORD)
    assert "guest:" not in COMPOSE.read_text()


def test_every_broker_client_logs_in_as_that_user() -> None:
    """Each service's MONTY_AMQP_URL carries the dedicated user and password, from the environment."""
    clients = {
        name: s["environment"]
        for name, s in _services().items()
        if "MONTY_AMQP_URL" in s.get("environment", {})
    }
    assert set(clients) == {"exchange", "archive-worker", "archive"}
    for name, environment in clients.items():
        url = environment["MONTY_AMQP_URL"]
        assert url.startswith(f"amqp://{BROKER_USER}"), name
        credentials = url.split("@rabbitmq:", 1)[0]
        assert BROKER_PASSWORD in credentials, name


def test_every_secret_is_required() -> None:
    """A variable holding a password or secret has no default: compose stops if it is unset."""
    text = COMPOSE.read_text()
    secrets = re.findall(r"\$\{(MONTY_[A-Z_]*(?:PASSWORD|SECRET|_USER))(:[^}]*)?\}", text)
    assert {name for name, _ in secrets} >= {
        "MONTY_RABBITMQ_USER",
        "MONTY_RABBITMQ_PASSWORD",
        "MONTY_POSTGRES_PASSWORD",
        "MONTY_SERVICE_SECRET",
        "MONTY_ADMIN_PASSWORD",
    }
    for name, rest in secrets:
        assert rest.startswith(":?"), name


def test_every_service_shares_the_service_secret() -> None:
    """Users, auth, the exchange and both archive processes get the same secret: the exchange signs
    each message's producer with it and the archive checks that signature."""
    for name in ("users", "auth", "exchange", "archive-worker", "archive"):
        secret = _services()[name]["environment"]["MONTY_SERVICE_SECRET"]
        assert secret.startswith("${MONTY_SERVICE_SECRET:?"), name


class _NoDuplicateKeys(yaml.SafeLoader):
    """A YAML loader that refuses a mapping naming a key twice (YAML keeps the last; compose refuses)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        """The mapping, or an error naming the repeated key."""
        # A merge key (`<<: *anchor`) may be overridden by the mapping's own keys: only keys written
        # out are compared.
        keys = [
            self.construct_object(key, deep=deep)
            for key, _value in node.value
            if key.tag != "tag:yaml.org,2002:merge"
        ]
        repeated = sorted({str(key) for key in keys if keys.count(key) > 1})
        if repeated:
            raise yaml.constructor.ConstructorError(None, None, f"repeated keys {repeated}", node.start_mark)
        return super().construct_mapping(node, deep)


def test_the_compose_file_names_no_key_twice() -> None:
    """A key given twice (two MONTY_SERVICE_SECRET lines, say) makes docker compose refuse the file."""
    yaml.load(COMPOSE.read_text(), Loader=_NoDuplicateKeys)  # noqa: S506 - a SafeLoader subclass


def test_the_exchange_keeps_idempotency_keys_in_redis() -> None:
    """Every exchange process and instance shares one store of Idempotency-Keys, started before it."""
    exchange = _services()["exchange"]
    assert exchange["environment"]["MONTY_IDEMPOTENCY_URL"].startswith("redis://redis:6379/")
    assert exchange["depends_on"]["redis"] == {"condition": "service_healthy"}
