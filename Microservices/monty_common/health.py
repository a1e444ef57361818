"""Liveness and readiness endpoints every service mounts."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Response, jsonify
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, ConfigDict, Field

from monty_common.draining import server_drain
from monty_common.openapi_doc import problem_doc
from monty_common.problems import problem_response
from monty_common.service_app import current_settings
from monty_common.settings import ServiceSettings


@dataclass(frozen=True)
class Readiness:
    """Each component's state ("ok" or why not), and figures worth showing beside them."""

    checks: Mapping[str, str]
    details: Mapping[str, Any] = field(default_factory=dict)


ReadinessCheck = Callable[[], Mapping[str, str] | Readiness]


class Alive(BaseModel):
    """The process serves."""

    status: str = Field(json_schema_extra={"const": "ok"})


class Ready(BaseModel):
    """Every component is reachable; some services add figures (e.g. archive_lag)."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(json_schema_extra={"const": "ready"})
    checks: dict[str, str] = Field(description='Each component and "ok".')


def health_blueprint(readiness: ReadinessCheck) -> APIBlueprint:
    """`/healthz`: the process serves; `/readyz`: `readiness` maps each component to "ok" or why not
    (503 with the app's MONTY_RETRY_AFTER when one is not, or at once while the server drains)."""
    blueprint = APIBlueprint("health", __name__, abp_tags=[Tag(name="health", description="Probes")])

    @blueprint.get("/healthz", summary="Liveness", responses={200: Alive})
    def healthz() -> Response:
        """The process is up."""
        return jsonify(status="ok")

    @blueprint.get(
        "/readyz",
        summary="Readiness",
        responses={
            200: Ready,
            503: problem_doc(
                'A component is unavailable, or the server is stopping (`"server": "draining"`); '
                "`checks` says which and why.",
                retry_after=True,
            ),
        },
    )
    def readyz() -> Response:
        """Every component the service depends on is reachable, and the server is not stopping."""
        if server_drain.get().draining:
            # Taken out of its load balancer first, while it still serves; its components are not asked.
            return _not_ready("The server is stopping.", {"server": "draining"}, {})
        report = readiness()
        if not isinstance(report, Readiness):
            report = Readiness(report)
        checks, details = dict(report.checks), dict(report.details)
        if all(state == "ok" for state in checks.values()):
            return jsonify(status="ready", checks=checks, **details)
        return _not_ready("A component the service depends on is unavailable.", checks, details)

    return blueprint


def _not_ready(detail: str, checks: dict[str, str], details: dict[str, Any]) -> Response:
    """503 not-ready with each check's state, asking to come back after the app's MONTY_RETRY_AFTER."""
    return problem_response(
        503,
        "Service Unavailable",
        detail,
        "urn:monty:problem:not-ready",
        headers={"Retry-After": str(current_settings(ServiceSettings).retry_after)},
        extensions={"checks": checks, **details},
    )
