"""A service's Flask CLI commands (`flask --app <service> <command>`) run as operators run them."""

import subprocess
import sys
from collections.abc import Sequence

from support.paths import REPO_ROOT
from support.processes import environment


def start_command(
    app: str, command: str, env: dict[str, str], arguments: Sequence[str] = ()
) -> subprocess.Popen[str]:
    """Start `flask --app <app> <command> <arguments>`, MONTY_ settings from `env` only, output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", app, command, *arguments],
        cwd=REPO_ROOT,
        env=environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_command(
    app: str, command: str, env: dict[str, str], arguments: Sequence[str] = ()
) -> tuple[int, str]:
    """Run `flask --app <app> <command> <arguments>` to its end: its exit status and what it printed."""
    process = start_command(app, command, env, arguments)
    output, _ = process.communicate(timeout=120)
    return process.returncode, output
