"""Each service's OpenAPI document: valid 3.1, every route in it, every error as problem+json."""

from typing import Any

import pytest
import requests
from openapi_spec_validator import validate

from support.stack import Stack

SERVICES = ["exchange", "users", "auth", "archive"]
# Routes of the documentation itself, which describe the API rather than belong to it.
DOC_ROUTES = ("/openapi",)


def document(stack: Stack, service: str) -> dict[str, Any]:
    """The service's served OpenAPI document."""
    answer = requests.get(stack.services[service].url + "/openapi/openapi.json", timeout=10)
    assert answer.status_code == 200
    return dict(answer.json())


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (path, method, operation) of `doc`."""
    return [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]


@pytest.mark.parametrize("service", SERVICES)
def test_document_is_valid_openapi_3_1(stack: Stack, service: str) -> None:
    """The document passes an OpenAPI 3.1 validator and declares the bearer scheme."""
    doc = document(stack, service)
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }


@pytest.mark.parametrize("service", SERVICES)
def test_every_error_is_a_documented_problem(stack: Stack, service: str) -> None:
    """Every 4xx/5xx an operation documents is problem+json; the shared ones are on every operation."""
    for path, method, op in operations(document(stack, service)):
        responses = op["responses"]
        expected = {"414", "431", "500"}
        if op.get("parameters") or op.get("requestBody"):
            expected.add("400")
        if op.get("requestBody"):
            expected |= {"413", "415"}
        if op.get("security"):
            expected |= {"401", "403", "503"}
        assert expected <= set(responses), (method, path, expected - set(responses))
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                content = response["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }
        if {"bearer": []} in op.get("security", []):
            assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)


def test_health_and_key_routes_are_documented(stack: Stack) -> None:
    """Probes and the JWKS are routes like the others, with their answers described."""
    for service in SERVICES:
        paths = document(stack, service)["paths"]
        assert set(paths["/healthz"]["get"]["responses"]) >= {"200"}
        assert set(paths["/readyz"]["get"]["responses"]) >= {"200", "503"}
    jwks = document(stack, "auth")["paths"]["/.well-known/jwks.json"]["get"]["responses"]["200"]
    assert jwks["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/KeySet"}


def test_listing_links_to_the_archived_message(stack: Stack) -> None:
    """GET /Messages links each page to GET /Messages/{message_id} by the first item's id."""
    doc = document(stack, "archive")
    link = doc["paths"]["/Messages"]["get"]["responses"]["200"]["links"]["FirstListedMessage"]
    assert link["operationId"] == doc["paths"]["/Messages/{message_id}"]["get"]["operationId"]
