"""MONTY_MESSAGE_SCHEMA: bodies checked against a JSON Schema, refused with 422, shown in the document."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import requests
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI
from openapi_spec_validator import validate
from pydantic import ValidationError

from exchange_service.settings import ExchangeSettings
from monty_common.openapi_app import OPENAPI_URL
from support.broker_admin import get_raw, queue_depth
from support.names import Names
from support.paths import REPO_ROOT
from support.problems import PROBLEM_MEDIA_TYPE, assert_problem
from support.processes import run_to_exit, start_service
from support.tokens import TestKeys

EXAMPLE_SCHEMA = REPO_ROOT / "Microservices/ExchangeMicroservice/schemas/order-message.schema.json"
APP = "Microservices/ExchangeMicroservice/app.py"
VALID_ORDER = (
    b'{"order_id": "A-1", "customer": "ada",\n "items": [{"sku": "ABC-1", "qty": 2, "unit_price": 9.50}]}'
)
# qty 0 breaks the minimum of the item schema, which the root reaches through $defs/$ref.
BAD_QTY_ORDER = b'{"order_id": "A-1", "customer": "ada", "items": [{"sku": "ABC-1", "qty": 0}]}'


@pytest.fixture
def schema_app(make_app: Callable[..., OpenAPI]) -> OpenAPI:
    """An exchange app checking bodies against the example order schema."""
    return make_app(message_schema=EXAMPLE_SCHEMA)


@pytest.fixture
def schema_client(schema_app: OpenAPI) -> FlaskClient:
    """A test client of `schema_app`, its queue declared so that its depth can be read."""
    client = schema_app.test_client()
    client.get("/Consume")
    return client


def _post(client: FlaskClient, raw: bytes) -> Any:
    """POST `raw` as JSON to /Message."""
    return client.post("/Message", data=raw, content_type="application/json")


def _violation(response: Any) -> dict[str, Any]:
    """The response is a 422 schema-violation problem; its body."""
    body = assert_problem(response, 422, "schema-violation")
    assert body["title"] == "Schema Violation"
    return body


def _write(folder: Path, name: str, content: str) -> Path:
    """A file named `name` in `folder` holding `content`."""
    path = folder / name
    path.write_text(content)
    return path


def test_matching_body_is_published_byte_for_byte(
    schema_client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """A body the schema accepts is published as sent: whitespace and number spelling kept."""
    assert _post(schema_client, VALID_ORDER).status_code == 200
    taken = get_raw(amqp_url, names.queue)
    assert taken is not None
    assert taken[2] == VALID_ORDER


def test_nested_violation_is_422_naming_its_json_pointer(
    schema_client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """A failing value deep in the body is named by its JSON Pointer; nothing is published."""
    body = _violation(_post(schema_client, BAD_QTY_ORDER))
    assert body["invalid_params"] == [
        {"name": "/items/0/qty", "reason": "the value is less than the minimum of 1"}
    ]
    assert "/items/0/qty" in body["detail"]
    assert queue_depth(amqp_url, names.queue) == 0


def test_root_type_mismatch_is_named_as_the_root(
    schema_client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """A body of the wrong type is named by the empty pointer, and its value is not echoed."""
    body = _violation(_post(schema_client, b'["secret-looking", "array"]'))
    assert body["invalid_params"] == [{"name": "", "reason": 'the value is not of type "object"'}]
    assert "the root" in body["detail"]
    assert "secret-looking" not in json.dumps(body)
    assert queue_depth(amqp_url, names.queue) == 0


def test_every_failing_location_is_listed(schema_client: FlaskClient, amqp_url: str, names: Names) -> None:
    """Several faults in one body are each listed with a reason."""
    raw = b'{"order_id": "", "items": [{"sku": "x", "qty": 1.5}, {"sku": "ABC-2", "qty": 1, "extra": 1}]}'
    invalid = _violation(_post(schema_client, raw))["invalid_params"]
    assert {item["name"] for item in invalid} == {"", "/order_id", "/items/0/sku", "/items/0/qty", "/items/1"}
    assert all(item["reason"] for item in invalid)
    assert any("customer" in item["reason"] for item in invalid if item["name"] == "")
    assert any("extra" in item["reason"] for item in invalid if item["name"] == "/items/1")
    assert queue_depth(amqp_url, names.queue) == 0


def test_listed_failures_are_capped_at_twenty(schema_client: FlaskClient) -> None:
    """A body failing in a hundred places lists the first twenty and says so."""
    order = {"order_id": "A-1", "customer": "ada", "items": [{"sku": "ABC-1", "qty": 0}] * 100}
    body = _violation(_post(schema_client, json.dumps(order).encode()))
    assert [item["name"] for item in body["invalid_params"]] == [f"/items/{i}/qty" for i in range(20)]
    assert "first 20" in body["detail"]


def test_without_a_schema_the_same_body_is_published(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """MONTY_MESSAGE_SCHEMA unset: any JSON value is published, as before."""
    assert _post(client, BAD_QTY_ORDER).status_code == 200
    taken = get_raw(amqp_url, names.queue)
    assert taken is not None
    assert taken[2] == BAD_QTY_ORDER


@pytest.mark.parametrize(
    "raw",
    [b"not json", b'{"a": 1', b"[NaN]", b'"\xff"', b"", b"[" * 100_000 + b"]" * 100_000],
    ids=["text", "truncated", "nan", "latin1", "empty", "deep"],
)
def test_body_checks_come_before_the_schema(
    client: FlaskClient, schema_client: FlaskClient, raw: bytes
) -> None:
    """A body that is not JSON gets the answer it gets without a schema, not a 422."""
    plain = _post(client, raw)
    checked = _post(schema_client, raw)
    assert checked.status_code == plain.status_code == 400
    assert checked.get_json() == plain.get_json()


def test_wrong_content_type_comes_before_the_schema(client: FlaskClient, schema_client: FlaskClient) -> None:
    """A body not declared as JSON gets the answer it gets without a schema."""
    plain = client.post("/Message", data=BAD_QTY_ORDER, content_type="text/plain")
    checked = schema_client.post("/Message", data=BAD_QTY_ORDER, content_type="text/plain")
    assert checked.status_code == plain.status_code != 422
    assert checked.get_json() == plain.get_json()


def test_numbers_are_checked_exactly(make_app: Callable[..., OpenAPI], tmp_path: Path) -> None:
    """Numbers beyond a float's precision are compared as written, not rounded."""
    schema = {"type": "array", "items": {"type": "number", "maximum": 1e300, "multipleOf": 0.1}}
    client = make_app(message_schema=_write(tmp_path, "numbers.json", json.dumps(schema))).test_client()
    assert _post(client, b"[0.3, 1e300, 12345678901234567890.1]").status_code == 200
    invalid = _violation(_post(client, b"[0.35, 1.0000000000000000000000001e300]"))["invalid_params"]
    assert [item["name"] for item in invalid] == ["/0", "/1"]
    assert "maximum" in invalid[1]["reason"]


def test_numbers_no_double_holds_match_no_schema(make_app: Callable[..., OpenAPI], tmp_path: Path) -> None:
    """1e400 or a 5000-digit integer is JSON, but whoever reads it with doubles gets infinity: 422."""
    loose = make_app(message_schema=_write(tmp_path, "loose.json", '{"type": "array"}')).test_client()
    for huge in (b"[1e400]", b"[" + b"9" * 5000 + b"]", b"[-1" + b"0" * 400 + b"]"):
        invalid = _violation(_post(loose, huge))["invalid_params"]
        assert [item["name"] for item in invalid] == ["/0"]
        assert "double" in invalid[0]["reason"]


TREE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://example.com/tree.json",
    "$ref": "#/$defs/node",
    "$defs": {
        "node": {
            "$anchor": "node",
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/short%20name"},
                "children": {"type": "array", "items": {"$ref": "#node"}},
                "root_again": {"$ref": "https://example.com/tree.json"},
                "tag": {"$ref": "tag.json"},
            },
            "required": ["name"],
            "additionalProperties": False,
        },
        "short name": {"type": "string", "minLength": 1},
        # A resource of its own: "#" in it means tag.json, and it names the root by a relative URI.
        "a tag": {
            "$id": "tag.json",
            "type": "object",
            "properties": {
                "label": {"$ref": "#/$defs/label"},
                "owner": {"$ref": "tree.json#/$defs/short%20name"},
            },
            "$defs": {"label": {"type": "string", "maxLength": 3}},
            "additionalProperties": False,
        },
    },
    "examples": [{"$ref": "not a reference: data"}],
}
TREE_GOOD = {
    "name": "a",
    "children": [{"name": "b", "children": [{"name": "c"}]}],
    "root_again": {"name": "d"},
    "tag": {"label": "abc", "owner": "e"},
}
TREE_BAD = {
    "/children/0/children/0/name": {"name": "a", "children": [{"name": "b", "children": [{"name": ""}]}]},
    "/root_again": {"name": "a", "root_again": {"name": "b", "extra": 1}},
    "/tag/label": {"name": "a", "tag": {"label": "abcd"}},
    "/tag/owner": {"name": "a", "tag": {"owner": ""}},
}


def test_defs_refs_anchors_and_embedded_resources_are_followed(
    make_app: Callable[..., OpenAPI], tmp_path: Path
) -> None:
    """References to $defs, anchors, the schema's own $id and an embedded resource are all followed."""
    client = make_app(message_schema=_write(tmp_path, "tree.json", json.dumps(TREE_SCHEMA))).test_client()
    assert _post(client, json.dumps(TREE_GOOD).encode()).status_code == 200
    for pointer, bad in TREE_BAD.items():
        invalid = _violation(_post(client, json.dumps(bad).encode()))["invalid_params"]
        assert [item["name"] for item in invalid] == [pointer]


def _document(client: FlaskClient) -> dict[str, Any]:
    """The served OpenAPI document, checked by an OpenAPI 3.1 validator."""
    response = client.get(OPENAPI_URL)
    assert response.status_code == 200
    spec: dict[str, Any] = response.get_json()
    validate(spec)
    return spec


def _document_validator(spec: dict[str, Any]) -> jsonschema_rs.Validator:
    """A validator of POST /Message's request body schema, resolved inside the OpenAPI document."""
    body_schema = spec["paths"]["/Message"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    registry = jsonschema_rs.Registry([("urn:openapi", spec)])
    return jsonschema_rs.Draft202012Validator(
        {"$ref": "urn:openapi" + body_schema["$ref"]}, registry=registry, offline=True
    )


def test_document_embeds_the_schema(schema_client: FlaskClient) -> None:
    """The request body refers to components.schemas.MessageBody, which is the example schema."""
    spec = _document(schema_client)
    post = spec["paths"]["/Message"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MessageBody"
    }
    component = spec["components"]["schemas"]["MessageBody"]
    example = json.loads(EXAMPLE_SCHEMA.read_text())
    assert "$schema" not in component
    assert "$id" not in component
    assert component["$defs"] == example["$defs"]
    assert component["properties"]["items"]["items"] == {
        "$ref": "#/components/schemas/MessageBody/$defs/item"
    }
    validator = _document_validator(spec)
    assert validator.is_valid(json.loads(VALID_ORDER))
    assert not validator.is_valid(json.loads(BAD_QTY_ORDER))


def test_document_resolves_refs_anchors_and_resources(
    make_app: Callable[..., OpenAPI], tmp_path: Path
) -> None:
    """Through the document, a schema with $refs, anchors and embedded resources judges as the service."""
    app = make_app(message_schema=_write(tmp_path, "tree.json", json.dumps(TREE_SCHEMA)))
    spec = _document(app.test_client())
    component = spec["components"]["schemas"]["MessageBody"]
    assert component["examples"] == TREE_SCHEMA["examples"]  # data, not a reference
    validator = _document_validator(spec)
    assert validator.is_valid(TREE_GOOD)
    for bad in TREE_BAD.values():
        assert not validator.is_valid(bad)


def test_document_resolves_refs_of_a_schema_with_a_urn_id(
    make_app: Callable[..., OpenAPI], tmp_path: Path
) -> None:
    """A schema named by a URN keeps its "#/..." references working in the document."""
    schema = {"$id": "urn:example:counts", "type": "array", "items": {"$ref": "#/$defs/count"}}
    schema["$defs"] = {"count": {"type": "integer"}}
    app = make_app(message_schema=_write(tmp_path, "counts.json", json.dumps(schema)))
    validator = _document_validator(_document(app.test_client()))
    assert validator.is_valid([1, 2])
    assert not validator.is_valid([1, "two"])


def test_a_schema_violation_is_documented_only_with_a_schema(
    client: FlaskClient, schema_client: FlaskClient
) -> None:
    """Without a schema the body is any JSON and the 422 answer (for headers and delays) says nothing
    of a schema; with one, the 422 problem+json answer names it too."""
    plain = _document(client)
    post = plain["paths"]["/Message"]["post"]
    assert "message schema" not in post["responses"]["422"]["description"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {}
    assert "MessageBody" not in plain.get("components", {}).get("schemas", {})
    for path in ("/Message", "/Messages"):
        answer = _document(schema_client)["paths"][path]["post"]["responses"]["422"]
        assert PROBLEM_MEDIA_TYPE in answer["content"]
        assert "message schema" in answer["description"]
        assert "Monty-Header-" in answer["description"]


def _invalid_schema_files(folder: Path, served_json: str) -> dict[str, tuple[Path, str]]:
    """Schema files the service must refuse, with a part of the reason it gives."""
    # `served_json` answers a JSON object: fetched, it would be a valid schema, so only "offline" refuses it.
    return {
        "missing": (folder / "nowhere.json", "cannot read"),
        "not-json": (_write(folder, "text.json", "{'type': 'object'}"), "not JSON"),
        "not-a-schema": (_write(folder, "list.json", "[1, 2]"), "a schema is an object or a boolean"),
        "bad-keyword": (
            _write(folder, "bad.json", '{"properties": {"a": {"type": "nope"}}}'),
            "/properties/a/type",
        ),
        "dangling-ref": (_write(folder, "ref.json", '{"$ref": "#/$defs/missing"}'), "/$defs/missing"),
        "remote-ref": (_write(folder, "remote.json", json.dumps({"$ref": served_json})), served_json),
        "other-draft": (
            _write(folder, "draft7.json", '{"$schema": "http://json-schema.org/draft-07/schema#"}'),
            "draft-07",
        ),
    }


@pytest.mark.parametrize(
    "case",
    ["missing", "not-json", "not-a-schema", "bad-keyword", "dangling-ref", "remote-ref", "other-draft"],
)
def test_bad_schema_file_is_an_invalid_setting(tmp_path: Path, test_keys: TestKeys, case: str) -> None:
    """The settings refuse a schema file that is missing, not JSON or not a valid 2020-12 schema."""
    path, reason = _invalid_schema_files(tmp_path, test_keys.jwks_url)[case]
    with pytest.raises(ValidationError) as raised:
        ExchangeSettings(message_schema=path)
    (error,) = raised.value.errors()
    assert error["loc"] == ("message_schema",)
    assert reason in error["msg"]
    assert str(path) in error["msg"]


def test_blank_variable_means_no_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """MONTY_MESSAGE_SCHEMA= is the same as leaving it out."""
    monkeypatch.setenv("MONTY_MESSAGE_SCHEMA", "")
    assert ExchangeSettings().message_schema is None


@pytest.mark.parametrize("case", ["missing", "not-json", "bad-keyword"])
def test_service_refuses_to_start_with_a_bad_schema(tmp_path: Path, test_keys: TestKeys, case: str) -> None:
    """app.py exits 2 with a line naming MONTY_MESSAGE_SCHEMA and why, before it serves anything."""
    path, reason = _invalid_schema_files(tmp_path, test_keys.jwks_url)[case]
    result = run_to_exit(APP, {"MONTY_MESSAGE_SCHEMA": str(path)})
    assert result.returncode == 2, result.stderr
    assert "invalid setting MONTY_MESSAGE_SCHEMA" in result.stderr
    assert reason in result.stderr


def test_served_service_checks_bodies(
    amqp_url: str, names: Names, test_keys: TestKeys, live_exchange_env: dict[str, str], tmp_path: Path
) -> None:
    """Started as users start it, under gunicorn, the service refuses what the schema refuses."""
    server = start_service(
        "Microservices/ExchangeMicroservice/app.py",
        {**live_exchange_env, "MONTY_MESSAGE_SCHEMA": str(EXAMPLE_SCHEMA)},
        tmp_path / "exchange.log",
    )
    try:
        server.wait_healthy()
        headers = {**test_keys.bearer("producer-user", ["producer"]), "Content-Type": "application/json"}
        refused = requests.post(server.url + "/Message", data=BAD_QTY_ORDER, headers=headers, timeout=10)
        assert _violation(refused)["invalid_params"][0]["name"] == "/items/0/qty"
        accepted = requests.post(server.url + "/Message", data=VALID_ORDER, headers=headers, timeout=10)
        assert accepted.status_code == 200
        assert queue_depth(amqp_url, names.queue) == 1
    finally:
        server.stop()
