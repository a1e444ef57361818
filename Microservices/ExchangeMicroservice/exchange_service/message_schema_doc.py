"""Showing the message schema in the OpenAPI document, as the request body of POST /Message."""

import copy
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urldefrag, urljoin

from exchange_service.message_schema import JsonSchema, json_pointer
from monty_common.openapi_app import problem_doc

COMPONENT_NAME = "MessageBody"
COMPONENT_REF = f"#/components/schemas/{COMPONENT_NAME}"
SCHEMA_VIOLATION_DOC = problem_doc(
    "The body does not match the message schema (MONTY_MESSAGE_SCHEMA); invalid_params names each "
    "failing location as a JSON Pointer. Nothing was published."
)

# Keywords of draft 2020-12 whose values are schemas (the others hold data or annotations).
_SCHEMA_KEYWORDS = frozenset(
    {
        "additionalProperties",
        "propertyNames",
        "items",
        "contains",
        "if",
        "then",
        "else",
        "not",
        "unevaluatedItems",
        "unevaluatedProperties",
        "contentSchema",
    }
)
_SCHEMA_LIST_KEYWORDS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_MAP_KEYWORDS = frozenset(
    {"$defs", "definitions", "properties", "patternProperties", "dependentSchemas"}
)
# The base URI of a schema without $id; any absolute URI serves, as it never leaves this module.
_DEFAULT_BASE = "https://message-schema.invalid/schema.json"


def _subschemas(schema: dict[str, Any]) -> list[tuple[list[str | int], Any]]:
    """Each subschema directly under `schema`, with its path relative to `schema`."""
    found: list[tuple[list[str | int], Any]] = []
    for keyword, value in schema.items():
        if keyword in _SCHEMA_KEYWORDS:
            found.append(([keyword], value))
        elif keyword in _SCHEMA_LIST_KEYWORDS and isinstance(value, list):
            found.extend(([keyword, index], item) for index, item in enumerate(value))
        elif keyword in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
            found.extend(([keyword, name], item) for name, item in value.items())
    return found


def _join(base: str, reference: str) -> str:
    """`reference` resolved against `base` (URNs too, for fragment-only references)."""
    if reference.startswith("#") or not reference:
        return urldefrag(base).url + reference
    return urljoin(base, reference)


def _fragment(pointer: str) -> str:
    """A JSON Pointer written as a URI fragment (RFC 6901, section 6)."""
    return quote(pointer, safe="/:@!$&'()*+,;=?")


class _Flattener:
    """Turns every internal reference of a schema into a JSON Pointer to its place in another document."""

    # A schema may hold several resources (subschemas with their own $id). Their $id and $schema
    # are dropped, so that the pointers resolve within the document that receives the schema.

    def __init__(self, root: dict[str, Any], target: str) -> None:
        """Learn where each resource and anchor of `root` sits; `target` is the schema's place."""
        self.target = target
        self.resources: dict[str, str] = {}
        self.anchors: dict[str, str] = {}
        self._learn(root, _DEFAULT_BASE, [])

    def _learn(self, schema: Any, base: str, path: list[str | int]) -> None:
        """Record the resources and anchors in `schema`, found at `path`."""
        if not isinstance(schema, dict):
            return
        if isinstance(schema.get("$id"), str):
            base = urldefrag(_join(base, schema["$id"])).url
        self.resources.setdefault(base, json_pointer(path))
        for keyword in ("$anchor", "$dynamicAnchor"):
            if isinstance(schema.get(keyword), str):
                self.anchors.setdefault(f"{base}#{schema[keyword]}", json_pointer(path))
        for sub_path, subschema in _subschemas(schema):
            self._learn(subschema, base, path + sub_path)

    def _target(self, reference: str) -> str | None:
        """Where the absolute `reference` points in the receiving document, if inside the schema."""
        uri, fragment = urldefrag(reference)
        if fragment and not fragment.startswith("/"):
            pointer = self.anchors.get(reference)
            return None if pointer is None else self.target + _fragment(pointer)
        resource = self.resources.get(uri)
        return None if resource is None else self.target + _fragment(resource) + fragment

    def rewrite(self, schema: Any, base: str = _DEFAULT_BASE) -> None:
        """Rewrite the references of `schema` and its subschemas, and drop their $id and $schema."""
        if not isinstance(schema, dict):
            return
        if isinstance(schema.get("$id"), str):
            base = urldefrag(_join(base, schema.pop("$id"))).url
        schema.pop("$schema", None)
        reference = schema.get("$ref")
        if isinstance(reference, str):
            absolute = _join(base, reference)
            schema["$ref"] = self._target(absolute) or absolute
        for _path, subschema in _subschemas(schema):
            self.rewrite(subschema, base)


def embedded_schema(document: JsonSchema, target: str = COMPONENT_REF) -> JsonSchema:
    """A copy of `document` to place at `target`, its internal references pointing there."""
    if isinstance(document, bool):
        return document
    embedded = copy.deepcopy(document)
    _Flattener(embedded, target).rewrite(embedded)
    return embedded


def document_message_schema(document: JsonSchema) -> Callable[[dict[str, Any]], None]:
    """A document hook showing `document` as POST /Message's body, and its 422 answer."""
    component = embedded_schema(document)

    def show(spec: dict[str, Any]) -> None:
        """Add the schema to the components and point the request body at it."""
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas[COMPONENT_NAME] = component
        operation = spec["paths"]["/Message"]["post"]
        operation["requestBody"]["content"]["application/json"]["schema"] = {"$ref": COMPONENT_REF}
        operation["description"] += (
            f" The body must match the message schema ({COMPONENT_NAME}); otherwise the answer is 422."
        )
        responses = operation.setdefault("responses", {})
        responses["422"] = _with_schema_violation(responses.get("422"))
        operation["responses"] = dict(sorted(responses.items()))
        batch = spec["paths"].get("/Messages", {}).get("post")
        if batch is not None:
            batch["requestBody"]["content"]["application/json"]["schema"]["items"] = {"$ref": COMPONENT_REF}
            batch["description"] += (
                f" Every message must match the message schema ({COMPONENT_NAME}); otherwise the whole "
                "batch is answered 422, naming /<index>/<location>, and nothing is published."
            )
            batch["responses"]["422"] = _with_schema_violation(batch["responses"].get("422"))
            batch["responses"] = dict(sorted(batch["responses"].items()))

    return show


def _with_schema_violation(answer: dict[str, Any] | None) -> dict[str, Any]:
    """The 422 answer of a publish route, saying that a body failing the schema is one too."""
    if answer is None:
        return SCHEMA_VIOLATION_DOC
    return {**answer, "description": f"{SCHEMA_VIOLATION_DOC['description']} Or: {answer['description']}"}
