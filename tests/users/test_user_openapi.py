"""The OpenAPI document: valid, and describing the user service's routes and their guards."""

from flask.testing import FlaskClient
from openapi_spec_validator import validate

from monty_common.openapi_app import OPENAPI_URL


def test_document_is_valid_openapi(client: FlaskClient) -> None:
    """The served document passes an OpenAPI validator."""
    response = client.get(OPENAPI_URL)
    assert response.status_code == 200
    validate(response.get_json())


def test_document_describes_routes_and_security(client: FlaskClient) -> None:
    """Every route is listed with its guard; no schema mentions a password hash."""
    document = client.get(OPENAPI_URL).get_json()
    paths = document["paths"]
    assert set(paths) >= {
        "/users",
        "/users/me",
        "/users/me/password",
        "/users/{user_id}",
        "/users/{user_id}/roles",
        "/users/{user_id}/disable",
        "/users/{user_id}/enable",
        "/users/{user_id}/password",
        "/internal/credentials",
        "/internal/token-status",
        "/internal/audit-events",
    }
    assert paths["/users"]["post"]["security"] == [{"bearer": []}]
    assert set(paths["/users"]["post"]["responses"]) >= {"201", "400", "401", "403", "409"}
    for internal in ("/internal/credentials", "/internal/token-status", "/internal/audit-events"):
        assert paths[internal]["post"]["security"] == [{"serviceSecret": []}], internal
        assert paths[internal]["post"]["tags"] == ["internal"], internal
    recording = paths["/internal/audit-events"]["post"]
    assert set(recording["responses"]) >= {"201", "400", "401"}
    event = document["components"]["schemas"]["ServiceAuditEvent"]
    assert document["components"]["schemas"]["ServiceAction"]["enum"] == [
        "dead_letters_redriven",
        "login_throttled",
    ]
    details = event["properties"]["details"]
    assert (details["maxProperties"], details["propertyNames"]) == (8, {"maxLength": 32, "minLength": 1})
    assert document["components"]["securitySchemes"]["serviceSecret"]["name"] == "Monty-Service-Secret"
    assert "password_hash" not in client.get(OPENAPI_URL).get_data(as_text=True)
