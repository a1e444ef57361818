"""OpenAPI pieces the user service's routes share: security schemes and common problem answers."""

from typing import Any

from flask_openapi3.types import ResponseDict, SecuritySchemesDict

from monty_common.audit_events import ServiceAuditEvent
from monty_common.openapi_app import problem_doc as problem
from monty_common.service_secret import SERVICE_SECRET_HEADER

SECURITY_SCHEMES: SecuritySchemesDict = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "serviceSecret": {"type": "apiKey", "in": "header", "name": SERVICE_SECRET_HEADER},
}
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
SERVICE: list[dict[str, list[str]]] = [{"serviceSecret": []}]

INVALID = problem("A parameter or the body is invalid (see invalid_params).")
UNAUTHORIZED = problem("No valid bearer token.")
FORBIDDEN = problem("The token lacks the admin role.")
NOT_FOUND = problem("No user has this id.")
LAST_ADMIN = problem(
    "The change would leave no enabled admin, or an admin would remove their own admin access."
)
OWN_ACCOUNT = problem("An admin resets only other users' passwords; their own needs PUT /users/me/password.")
NO_CONTENT: dict[str, Any] = {"description": "Done."}
GUARDED: ResponseDict = {400: INVALID, 401: UNAUTHORIZED, 403: FORBIDDEN}
ONE_USER: ResponseDict = {**GUARDED, 404: NOT_FOUND}


def document_detail_names(spec: dict[str, Any]) -> None:
    """Put back the bound of an audit event's detail names, which flask-openapi3 drops (its schema
    objects have no propertyNames), so that clients and fuzzers know it."""
    model = ServiceAuditEvent.model_json_schema()["properties"]["details"]
    documented = spec["components"]["schemas"][ServiceAuditEvent.__name__]["properties"]["details"]
    documented["propertyNames"] = model["propertyNames"]
