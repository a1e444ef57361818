"""The parts of every service's OpenAPI document that its routes share: errors, problems, headers."""

from typing import Any

from monty_common.problems import PROBLEM_MEDIA_TYPE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
RETRY_AFTER = {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
WWW_AUTHENTICATE = {
    "description": 'The RFC 6750 challenge, e.g. Bearer realm="montyexchange", error="invalid_token".',
    "schema": {"type": "string"},
}


def problem_doc(description: str, retry_after: bool = False) -> dict[str, Any]:
    """An OpenAPI response object whose body is problem+json."""
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}},
    }
    if retry_after:
        response["headers"] = {"Retry-After": RETRY_AFTER}
    return response


def header_doc(description: str, schema_type: str = "string") -> dict[str, Any]:
    """An OpenAPI response header object."""
    return {"description": description, "schema": {"type": schema_type}}


def _unauthorized() -> dict[str, Any]:
    """401: the request's bearer token is missing or not valid."""
    response = problem_doc(
        "No valid bearer token (missing, malformed, expired, forged or of an unknown key)."
    )
    response["headers"] = {"WWW-Authenticate": WWW_AUTHENTICATE}
    return response


def _shared_responses(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The responses `operation` can give whatever it does, by what it takes."""
    shared: dict[str, dict[str, Any]] = {
        "414": problem_doc("The request line (path and query) is longer than 8190 bytes."),
        "431": problem_doc("The request's headers are too many or too large."),
        "500": problem_doc("An unexpected fault in the service; it is logged with a stack trace."),
    }
    if operation.get("parameters") or operation.get("requestBody"):
        shared["400"] = problem_doc(
            "The request's parameters or body are invalid; invalid_params names each one and why."
        )
    if operation.get("requestBody"):
        shared["413"] = problem_doc("The body is larger than the service accepts.")
        shared["415"] = problem_doc("The body is not sent as Content-Type: application/json (UTF-8).")
    if operation.get("security"):
        shared["401"] = _unauthorized()
        shared["403"] = problem_doc("The token's user lacks a role this operation needs.")
        shared["503"] = problem_doc(
            "The keys that verify tokens could not be fetched from the auth service (or a component the "
            "operation needs is down). Nothing was done; retrying is safe.",
            retry_after=True,
        )
    return shared


def _is_generated_validation_doc(response: dict[str, Any] | None) -> bool:
    """Whether `response` is flask-openapi3's own 400 (an array of errors as application/json)."""
    if response is None:
        return False
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("type") == "array")


def complete_responses(spec: dict[str, Any]) -> None:
    """Give every operation the error responses it shares with the others, as problem+json."""
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            if _is_generated_validation_doc(responses.get("400")):
                del responses["400"]
            for status, response in _shared_responses(operation).items():
                responses.setdefault(status, response)
            if {"bearer": []} in operation.get("security", []):
                # A route's own 401 text keeps the challenge header every bearer 401 carries.
                responses["401"].setdefault("headers", {}).setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
            operation["responses"] = dict(sorted(responses.items()))
