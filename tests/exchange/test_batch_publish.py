"""POST /Messages against the real broker: a batch in one request, one confirmed result per message."""

from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from support.broker_admin import get_raw, queue_depth
from support.names import Names
from support.paths import REPO_ROOT
from support.problems import assert_problem
from support.tokens import TestKeys

ORDER_SCHEMA = REPO_ROOT / "Microservices/ExchangeMicroservice/schemas/order-message.schema.json"
GOOD_ORDER = b'{"order_id": "A-1", "customer": "ada", "items": [{"sku": "ABC-1", "qty": 2}]}'
BAD_ORDER = b'{"order_id": "A-2", "customer": "bob", "items": [{"sku": "ABC-1", "qty": 0}]}'


def post_batch(client: FlaskClient, raw: bytes, **kwargs: object) -> object:
    """POST raw bytes to /Messages as JSON."""
    return client.post("/Messages", data=raw, content_type="application/json", **kwargs)  # type: ignore[arg-type]


def test_every_message_is_published_byte_for_byte_in_order(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """Each element becomes its own message, its exact bytes, with the id its result names."""
    elements = [b'{ "a" : 1 }', b"[1,2.50]", b'"text"', b"null", b"1e400"]
    response = post_batch(client, b"[" + b" ,\n".join(elements) + b"]")
    assert response.status_code == 200  # type: ignore[attr-defined]
    answer = response.get_json()  # type: ignore[attr-defined]
    assert answer["published"] == 5
    assert answer["failed"] == 0
    assert [result["status"] for result in answer["results"]] == [200] * 5
    for element, result in zip(elements, answer["results"], strict=True):
        taken = get_raw(amqp_url, names.queue)
        assert taken is not None
        _method, properties, body = taken
        assert body == element
        assert properties.message_id == result["message_id"]
        assert properties.delivery_mode == 2
    assert len({result["message_id"] for result in answer["results"]}) == 5


@pytest.mark.parametrize(
    ("raw", "slug"),
    [
        (b'{"a": 1}', "not-an-array"),
        (b"[]", "empty-batch"),
        (b"[1,]", "invalid-json"),
        (b"[1 2]", "invalid-json"),
        (b"[1] [2]", "invalid-json"),
        (b"[NaN]", "invalid-json"),
        (b'[{"a": 1}, {"b": }]', "invalid-json"),
        (b"[\xff]", "invalid-json"),
        (b"", "empty-body"),
    ],
)
def test_a_malformed_batch_is_400_and_publishes_nothing(
    client: FlaskClient, amqp_url: str, names: Names, raw: bytes, slug: str
) -> None:
    """Not one JSON array of values: refused whole, with where it went wrong."""
    client.get("/Consume")  # declares the queue, so its depth can be read
    assert_problem(post_batch(client, raw), 400, slug)
    assert queue_depth(amqp_url, names.queue) == 0


def test_limits_refuse_the_whole_batch_with_413(
    make_app: Callable[..., OpenAPI], amqp_url: str, names: Names
) -> None:
    """Too many messages, one message too large, or too large a body: 413, nothing published."""
    client = make_app(max_batch_messages=3, max_body_bytes=10, max_batch_bytes=60).test_client()
    client.get("/Consume")
    assert post_batch(client, b"[1,2,3]").status_code == 200  # type: ignore[attr-defined]
    assert_problem(post_batch(client, b"[1,2,3,4]"), 413, "batch-too-large")
    assert_problem(post_batch(client, b'["0123456789"]'), 413, "message-too-large")
    assert_problem(post_batch(client, b"[" + b" " * 60 + b"1]"), 413)
    assert queue_depth(amqp_url, names.queue) == 3


def test_a_batch_must_be_sent_as_json(client: FlaskClient) -> None:
    """Another media type is 415."""
    response = client.post("/Messages", data=b"[1]", content_type="text/plain")
    assert_problem(response, 415, "unsupported-media-type")


def test_publishing_a_batch_needs_the_producer_role(client: FlaskClient, test_keys: TestKeys) -> None:
    """A consumer's token is refused with 403."""
    response = post_batch(client, b"[1]", headers=test_keys.bearer("reader", ["consumer"]))
    assert_problem(response, 403, "forbidden")


def test_one_message_failing_the_schema_refuses_the_batch_naming_it(
    make_app: Callable[..., OpenAPI], amqp_url: str, names: Names, tmp_path: Path
) -> None:
    """With a message schema, the 422 names /<index>/<location> and nothing is published."""
    client = make_app(message_schema=ORDER_SCHEMA).test_client()
    client.get("/Consume")
    body = assert_problem(
        post_batch(client, b"[" + GOOD_ORDER + b"," + BAD_ORDER + b"]"), 422, "schema-violation"
    )
    assert [item["name"] for item in body["invalid_params"]] == ["/1/items/0/qty"]  # type: ignore[index, union-attr]
    assert queue_depth(amqp_url, names.queue) == 0
    assert post_batch(client, b"[" + GOOD_ORDER + b"," + GOOD_ORDER + b"]").status_code == 200  # type: ignore[attr-defined]
    assert queue_depth(amqp_url, names.queue) == 2


def test_the_document_describes_the_batch_route(client: FlaskClient) -> None:
    """POST /Messages takes an array and answers 200, 207 or a problem."""
    operation = client.get("/openapi/openapi.json").get_json()["paths"]["/Messages"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["type"] == "array"
    assert {"200", "207", "400", "413", "415", "503"} <= set(operation["responses"])
