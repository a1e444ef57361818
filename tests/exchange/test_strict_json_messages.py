"""Bodies the exchange would publish are strict JSON: parsers downstream must all read them alike."""

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from support.broker_admin import queue_depth
from support.names import Names
from support.paths import REPO_ROOT
from support.problems import assert_problem

ORDER_SCHEMA = REPO_ROOT / "Microservices/ExchangeMicroservice/schemas/order-message.schema.json"


def pointers(body: dict[str, object]) -> list[object]:
    """The JSON Pointers a problem names."""
    params = body.get("invalid_params")
    assert isinstance(params, list)
    return [param["name"] for param in params]


@pytest.mark.parametrize(
    ("path", "raw", "pointer"),
    [
        ("/Message", b'{"sku": "a", "qty": -5, "qty": 1}', "/qty"),
        ("/Messages", b'[{"qty": 1}, {"qty": -5, "qty": 1}]', "/1/qty"),
        ("/Message", b"[" * 65 + b"]" * 65, "/0" * 64),
        ("/Messages", b"[" + b"[" * 65 + b"]" * 65 + b"]", "/0" * 65),
    ],
    ids=["duplicate", "batch-duplicate", "too-deep", "batch-too-deep"],
)
def test_duplicate_keys_and_deep_nesting_are_400_and_nothing_is_published(
    client: FlaskClient, amqp_url: str, names: Names, path: str, raw: bytes, pointer: str
) -> None:
    """Each refusal names its place as a JSON Pointer; nothing reaches the queue."""
    client.get("/Consume")  # declares the queue, so its depth can be read
    body = assert_problem(client.post(path, data=raw, content_type="application/json"), 400, "invalid-json")
    assert pointers(body) == [pointer]
    assert queue_depth(amqp_url, names.queue) == 0


def test_the_depth_is_a_setting(make_app: Callable[..., OpenAPI]) -> None:
    """MONTY_JSON_MAX_DEPTH sets how deep a body may nest."""
    client = make_app(json_max_depth=3).test_client()
    assert client.post("/Message", data=b"[[[1]]]", content_type="application/json").status_code == 200
    assert_problem(client.post("/Message", data=b"[[[[1]]]]", content_type="application/json"), 400)


@pytest.mark.parametrize(
    ("qty", "path", "raw_pointer"),
    [("1e999999999", "/Message", "/items/0/qty"), ("1" + "0" * 400, "/Messages", "/0/items/0/qty")],
    ids=["exponent", "batch-integer"],
)
def test_with_a_schema_a_number_no_double_holds_is_422(
    make_app: Callable[..., OpenAPI], amqp_url: str, names: Names, qty: str, path: str, raw_pointer: str
) -> None:
    """A number past the range of a double passes no schema (consumers would read infinity)."""
    client = make_app(message_schema=ORDER_SCHEMA).test_client()
    client.get("/Consume")
    order = b'{"order_id": "A-1", "customer": "ada", "items": [{"sku": "ABC-1", "qty": %s}]}' % qty.encode()
    raw = order if path == "/Message" else b"[" + order + b"]"
    body = assert_problem(
        client.post(path, data=raw, content_type="application/json"), 422, "schema-violation"
    )
    assert pointers(body) == [raw_pointer]
    assert queue_depth(amqp_url, names.queue) == 0


def test_without_a_schema_large_numbers_are_still_published_as_sent(client: FlaskClient) -> None:
    """Any JSON value may be published; only a schema makes a number's range matter."""
    assert client.post("/Message", data=b"[1e999999999]", content_type="application/json").status_code == 200
