"""Deployment files are checked as files: no Docker engine is needed to catch their mistakes."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

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
