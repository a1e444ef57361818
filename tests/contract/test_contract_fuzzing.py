"""Schemathesis, a contract fuzzer nobody here wrote, against every service started for real."""

import os
import subprocess
import sys

import pytest

from support.paths import REPO_ROOT
from support.stack import Stack

SEED = "20261128"
EXAMPLES = "50"
# Every check Schemathesis has: server errors, status codes, content types, headers and bodies
# against the document, invalid data refused, valid data accepted, missing required headers,
# unsupported methods and Allow, auth that is declared but not enforced, and the stateful ones.
CHECKS = "all"


def fuzz(stack: Stack, service: str, token: str) -> subprocess.CompletedProcess[str]:
    """Run Schemathesis against `service`'s own OpenAPI document, with an admin's token."""
    server = stack.services[service]
    report_dir = (
        REPO_ROOT
        / os.environ.get("MONTY_ARTIFACT_DIR", "artifacts")
        / "schemathesis"
        / service.replace(" ", "-")
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{server.url}/openapi/openapi.json",
            "--checks",
            CHECKS,
            "--header",
            f"Authorization: Bearer {token}",
            "--header",
            f"Monty-Service-Secret: {stack.secret}",
            "--seed",
            SEED,
            "--max-examples",
            EXAMPLES,
            # One worker: hypothesis describes its strategies with ast.parse, which Python 3.11 does not
            # make safe across threads ("AST constructor recursion depth mismatch").
            "--workers",
            "1",
            # A consume may wait up to 20 s for a message (long polling).
            "--request-timeout",
            "30",
            "--report",
            "junit",
            "--report-dir",
            str(report_dir),
            "--no-color",
            "--output-truncate",
            "false",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    "service", ["exchange", "exchange with a message schema", "users", "auth", "archive"]
)
@pytest.mark.usefixtures("seeded")
def test_schemathesis_finds_nothing(stack: Stack, service: str) -> None:
    """Every check passes on every operation of the service's document.

    Each run logs in afresh: a run before may have revoked the admin's earlier tokens (changing
    their roles does), and a revoked token would make every guarded operation a 401.
    """
    result = fuzz(stack, service, stack.token())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No issues found" in result.stdout, result.stdout
