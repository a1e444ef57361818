"""Liveness and readiness endpoints every service mounts."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, jsonify

from monty_common.problems import problem_response


@dataclass(frozen=True)
class Readiness:
    """Each component's state ("ok" or why not), and figures worth showing beside them."""

    checks: Mapping[str, str]
    details: Mapping[str, Any] = field(default_factory=dict)


ReadinessCheck = Callable[[], Mapping[str, str] | Readiness]


def health_blueprint(readiness: ReadinessCheck, retry_after: int) -> Blueprint:
    """`/healthz`: the process serves; `/readyz`: `readiness` maps each component to "ok" or why not."""
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/healthz")
    def healthz() -> Response:
        """The process is up."""
        return jsonify(status="ok")

    @blueprint.get("/readyz")
    def readyz() -> Response:
        """Every component the service depends on is reachable."""
        report = readiness()
        if not isinstance(report, Readiness):
            report = Readiness(report)
        checks, details = dict(report.checks), dict(report.details)
        if all(state == "ok" for state in checks.values()):
            return jsonify(status="ready", checks=checks, **details)
        return problem_response(
            503,
            "Service Unavailable",
            "A component the service depends on is unavailable.",
            "urn:monty:problem:not-ready",
            headers={"Retry-After": str(retry_after)},
            extensions={"checks": checks, **details},
        )

    return blueprint
