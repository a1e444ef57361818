"""Grafana in the monitoring profile refuses to start without an admin password."""

import subprocess
from pathlib import Path

import pytest

from support.compose import rendered


def _entrypoint() -> list[str]:
    """Grafana's entrypoint as compose runs it (`$$` in the file is a literal `$`)."""
    project = rendered("--profile", "single", "--profile", "monitoring")
    return [part.replace("$$", "$") for part in project["services"]["grafana"]["entrypoint"]]


def _run(entrypoint: list[str], secret: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the entrypoint with the password file `secret`, Grafana's own /run.sh replaced by a stand-in
    that prints its arguments."""
    stand_in = tmp_path / "run.sh"
    stand_in.write_text('#!/bin/sh\necho "grafana started with: $*"\n')
    stand_in.chmod(0o755)
    command = [part.replace("/run.sh", str(stand_in)) for part in entrypoint]
    return subprocess.run(
        [*command, "--config", "/etc/grafana/grafana.ini"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
        env={"PATH": "/usr/bin:/bin", "GF_SECURITY_ADMIN_PASSWORD__FILE": str(secret)},
    )


@pytest.mark.parametrize("content", ["", None], ids=["empty secret", "no secret file"])
def test_grafana_does_not_start_without_a_password(tmp_path: Path, content: str | None) -> None:
    """An unset MONTY_GRAFANA_ADMIN_PASSWORD (compose then mounts an empty secret) stops Grafana
    before it starts, saying which variable to set."""
    secret = tmp_path / "grafana_admin_password"
    if content is not None:
        secret.write_text(content)
    result = _run(_entrypoint(), secret, tmp_path)
    assert result.returncode == 78
    assert "MONTY_GRAFANA_ADMIN_PASSWORD" in result.stderr
    assert "grafana started" not in result.stdout


def test_grafana_starts_with_a_password(tmp_path: Path) -> None:
    """With a password the image's own entrypoint runs, with the container's arguments."""
    secret = tmp_path / "grafana_admin_password"
    secret.write_text("s3cret-password")
    result = _run(_entrypoint(), secret, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "grafana started with: --config /etc/grafana/grafana.ini"
