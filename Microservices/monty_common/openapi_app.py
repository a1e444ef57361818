"""The Flask app every service is built on: flask-openapi3, problem+json errors."""

from collections.abc import Callable
from typing import Any

from flask import Response, request
from flask_openapi3.models.info import Info
from flask_openapi3.openapi import OpenAPI
from pydantic import BaseModel, Field, ValidationError

from monty_common.docs_page import register_docs_page
from monty_common.openapi_doc import complete_responses, header_doc, problem_doc
from monty_common.problems import (
    PROBLEM_TYPE_PREFIX,
    ProblemError,
    problem_response,
    register_problem_handlers,
)

__all__ = ["DOCS_PAGE_URL", "OPENAPI_URL", "MontyOpenAPI", "header_doc", "new_openapi_app", "problem_doc"]

OPENAPI_URL = "/openapi/openapi.json"
DOCS_PAGE_URL = "/openapi/swagger"

DEFAULT_MAX_BODY_BYTES = 64 * 1024

DocHook = Callable[[dict[str, Any]], None]


class MontyOpenAPI(OpenAPI):
    """flask-openapi3's app, whose generated document can be completed by hooks run once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Start with no document hooks."""
        super().__init__(*args, **kwargs)
        self.doc_hooks: list[DocHook] = []

    def add_doc_hook(self, hook: DocHook) -> None:
        """Run `hook` on the OpenAPI document once it is generated (it may change it in place)."""
        self.doc_hooks.append(hook)

    def generate_spec_json(self) -> None:
        """Generate the document, then let every hook complete it."""
        super().generate_spec_json()  # type: ignore[no-untyped-call]
        for hook in self.doc_hooks:
            hook(self.spec_json)


class InvalidParam(BaseModel):
    """One request parameter or body location that failed validation."""

    name: str = Field(description="The parameter's name, or the body location as a JSON Pointer.")
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details; some problems add members (invalid_params, retry hints, ids)."""

    type: str = Field(description="URI naming the kind of problem (urn:monty:problem:...).")
    title: str
    status: int
    detail: str
    invalid_params: list[InvalidParam] = Field(
        default_factory=list, description="For invalid requests: each failing parameter and why."
    )


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


def refuse_non_json_body() -> None:
    """415 for a body that is not JSON: every operation of every service takes JSON bodies only."""
    if request.method not in ("POST", "PUT", "PATCH") or request.is_json:
        return
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if (request.content_length or 0) > 0 or chunked:
        got = request.content_type or "none"
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Unsupported Media Type",
            f"The body must be sent as Content-Type: application/json (got {got}).",
        )


def new_openapi_app(import_name: str, title: str, version: str) -> MontyOpenAPI:
    """An app serving its OpenAPI document at /openapi/openapi.json, with one error shape."""
    app = MontyOpenAPI(
        import_name,
        info=Info(title=title, version=version),
        doc_prefix="/openapi",
        security_schemes={"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        validation_error_status=400,
        validation_error_model=Problem,
        validation_error_callback=validation_problem,
    )
    # Swagger UI's assets come from the flask-openapi3-swagger package, served by the app itself;
    # its validator badge would call validator.swagger.io, which a firewalled user cannot reach.
    app.config["SWAGGER_CONFIG"] = {"validatorUrl": None, "persistAuthorization": False}
    register_docs_page(app)
    # A default cap on bodies; a service that takes larger ones (the exchange) sets its own.
    app.config["MAX_CONTENT_LENGTH"] = DEFAULT_MAX_BODY_BYTES
    app.before_request(refuse_non_json_body)
    app.add_doc_hook(complete_responses)
    register_problem_handlers(app)
    return app
