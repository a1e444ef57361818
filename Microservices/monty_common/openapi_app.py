"""The Flask app every service is built on: flask-openapi3, problem+json errors."""

from typing import Any

from flask import Response
from flask_openapi3.models.info import Info
from flask_openapi3.openapi import OpenAPI
from pydantic import BaseModel, Field, ValidationError

from monty_common.problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_TYPE_PREFIX,
    problem_response,
    register_problem_handlers,
)

OPENAPI_URL = "/openapi/openapi.json"


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="URI naming the kind of problem (urn:monty:problem:...).")
    title: str
    status: int
    detail: str


PROBLEM_SCHEMA = Problem.model_json_schema()


def problem_doc(description: str, retry_after: bool = False) -> dict[str, Any]:
    """An OpenAPI response object whose body is problem+json."""
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
        }
    return response


def header_doc(description: str, schema_type: str = "string") -> dict[str, Any]:
    """An OpenAPI response header object."""
    return {"description": description, "schema": {"type": schema_type}}


def validation_problem(error: ValidationError) -> Response:
    """A request that fails its model's validation: 400, naming each invalid parameter."""
    invalid: list[dict[str, Any]] = [
        {"name": ".".join(str(part) for part in item["loc"]), "reason": item["msg"]}
        for item in error.errors()
    ]
    names = ", ".join(item["name"] for item in invalid) or "request"
    return problem_response(
        400,
        "Invalid Request",
        f"Invalid parameter(s): {names}.",
        PROBLEM_TYPE_PREFIX + "invalid-parameters",
        extensions={"invalid_params": invalid},
    )


def new_openapi_app(import_name: str, title: str, version: str) -> OpenAPI:
    """An app serving its OpenAPI document at /openapi/openapi.json, with one error shape."""
    app = OpenAPI(
        import_name,
        info=Info(title=title, version=version),
        doc_prefix="/openapi",
        security_schemes={"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        validation_error_status=400,
        validation_error_model=Problem,
        validation_error_callback=validation_problem,
    )
    register_problem_handlers(app)
    return app
