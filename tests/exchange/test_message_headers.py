"""Client headers: attached on publish as Monty-Header-<name>, returned on every kind of consume, signed."""

from typing import Any

import pika
import pytest
import requests
from flask.testing import FlaskClient

from monty_common.openapi_app import OPENAPI_URL
from support.broker_admin import admin_channel, get_raw, queue_depth
from support.names import Names
from support.problems import assert_problem
from support.processes import ServiceProcess
from support.tokens import TestKeys

SENT = {
    "Monty-Header-Trace-Id": "abc 123",
    "Monty-Header-tenant": "acme%",
    "Monty-Header-empty": "",
}
# As every consume gives them back: names lower-cased.
READ = {"trace-id": "abc 123", "tenant": "acme%", "empty": ""}


def test_headers_come_back_from_consume_percent_encoded_like_the_other_monty_headers(
    client: FlaskClient,
) -> None:
    """GET /Consume answers each as Monty-Header-<name>; a space or % is percent-encoded."""
    published = client.post("/Message", json={"n": 1}, headers=SENT)
    assert published.status_code == 200, published.get_json()
    response = client.get("/Consume")
    assert response.get_json() == {"n": 1}
    assert response.headers["Monty-Header-trace-id"] == "abc%20123"
    assert response.headers["Monty-Header-tenant"] == "acme%25"
    assert response.headers["Monty-Header-empty"] == ""
    assert response.headers["Monty-Producer-Verified"] == "true"
    assert _client_header_names(response) == [
        "Monty-Header-empty",
        "Monty-Header-tenant",
        "Monty-Header-trace-id",
    ]


def _client_header_names(response: Any) -> list[str]:
    """The Monty-Header-* names of an answer, in order."""
    return [name for name, _value in response.headers.items() if name.lower().startswith("monty-header-")]


def test_headers_come_back_in_batches_as_json(client: FlaskClient) -> None:
    """GET /Consume/batch gives them as "headers" of each message, as text; none is {}."""
    assert client.post("/Message", json={"n": 1}, headers=SENT).status_code == 200
    assert client.post("/Message", json={"n": 2}).status_code == 200
    messages = client.get("/Consume/batch").get_json()["messages"]
    assert [(message["body"], message["headers"]) for message in messages] == [
        ({"n": 1}, READ),
        ({"n": 2}, {}),
    ]
    assert [message["producer_verified"] for message in messages] == [True, True]


def test_every_message_of_a_batch_carries_the_same_headers(client: FlaskClient) -> None:
    """POST /Messages: the request's headers go on each element."""
    answer = client.post(
        "/Messages", data=b'[{"n": 1}, {"n": 2}, 3]', content_type="application/json", headers=SENT
    )
    assert answer.status_code == 200, answer.get_json()
    messages = client.get("/Consume/batch").get_json()["messages"]
    assert [message["headers"] for message in messages] == [READ] * 3


def test_headers_are_stored_apart_from_the_gateways_own(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """One AMQP header, user_headers, holds them: a client's header named like one of the gateway's
    changes nothing of it."""
    headers = {"Monty-Header-producer": "someone-else", "Monty-Header-published-at": "yesterday"}
    assert client.post("/Message", json={}, headers=headers).status_code == 200
    taken = get_raw(amqp_url, names.queue)
    assert taken is not None
    properties = taken[1]
    assert properties.headers["user_headers"] == {"producer": "someone-else", "published-at": "yesterday"}
    assert properties.headers["producer"] == "admin-user"


def _too_many(count: int) -> dict[str, str]:
    """`count` valid headers."""
    return {f"Monty-Header-h{number:02d}": "v" for number in range(count)}


@pytest.mark.parametrize(
    ("headers", "named", "reason"),
    [
        ({"Monty-Header-" + "a" * 65: "v"}, "Monty-Header-" + "a" * 65, "1 to 64"),
        ({"Monty-Header-a.b": "v"}, "Monty-Header-a.b", "letters, digits and hyphens"),
        ({"Monty-Header--a": "v"}, "Monty-Header--a", "no hyphen first"),
        ({"Monty-Header-": "v"}, "Monty-Header-", "1 to 64"),
        ({"Monty-Header-X-Death": "v"}, "Monty-Header-X-Death", "reserved"),
        ({"Monty-Header-x-delivery-count": "1"}, "Monty-Header-X-Delivery-Count", "reserved"),
        ({"Monty-Header-Monty-Queue": "v"}, "Monty-Header-Monty-Queue", "reserved"),
        ({"Monty-Header-long": "v" * 257}, "Monty-Header-Long", "at most 256"),
        ({"Monty-Header-accent": "caf\u00e9"}, "Monty-Header-Accent", "visible ASCII"),
        ({"Monty-Header-tab": "a\tb"}, "Monty-Header-Tab", "visible ASCII"),
        (_too_many(21), "Monty-Header-*", "at most 20 headers"),
        ({f"Monty-Header-h{n:02d}": "v" * 256 for n in range(16)}, "Monty-Header-*", "together"),
    ],
    ids=[
        "name-too-long",
        "name-character",
        "name-hyphen-first",
        "name-empty",
        "reserved-x-death",
        "reserved-x-delivery-count",
        "reserved-monty",
        "value-too-long",
        "value-not-ascii",
        "value-control",
        "too-many",
        "too-large",
    ],
)
@pytest.mark.parametrize("route", ["/Message", "/Messages"])
def test_every_limit_and_reserved_name_is_refused_with_nothing_published(
    client: FlaskClient,
    amqp_url: str,
    names: Names,
    route: str,
    headers: dict[str, str],
    named: str,
    reason: str,
) -> None:
    """422 naming the header and why; no message reaches the queue."""
    client.get("/Consume")  # declares the queue
    body = b'{"n": 1}' if route == "/Message" else b'[{"n": 1}, {"n": 2}]'
    response = client.post(route, data=body, content_type="application/json", headers=headers)
    problem = assert_problem(response, 422, "invalid-message-headers")
    invalid = {item["name"].lower(): item["reason"] for item in problem["invalid_params"]}
    assert reason in invalid[named.lower()], problem
    assert named.lower() in problem["detail"].lower()
    assert queue_depth(amqp_url, names.queue) == 0


def test_the_limits_themselves_are_accepted(client: FlaskClient) -> None:
    """20 headers, 64-character names, 256-character values, 4096 characters in all."""
    lengths = [256, 148] + [134] * 18
    headers = {f"Monty-Header-{'n' * 62}{number:02d}": "v" * length for number, length in enumerate(lengths)}
    assert sum(len(name) - len("Monty-Header-") + len(value) for name, value in headers.items()) == 4096
    assert client.post("/Message", json={}, headers=headers).status_code == 200
    message = client.get("/Consume/batch").get_json()["messages"][0]
    assert message["headers"] == {
        name[len("Monty-Header-") :].lower(): value for name, value in headers.items()
    }


def test_tampered_headers_are_not_vouched_for(client: FlaskClient, amqp_url: str, names: Names) -> None:
    """Headers are signed with the producer: a copy whose user_headers were changed past the gateway
    shows producer_verified false; the same copy untouched, true."""
    assert client.post("/Message", json={"n": 1}, headers={"Monty-Header-role": "reader"}).status_code == 200
    taken = get_raw(amqp_url, names.queue)
    assert taken is not None
    _method, properties, body = taken
    untouched = pika.BasicProperties(**_fields(properties))
    tampered = pika.BasicProperties(**_fields(properties))
    tampered.headers = {**properties.headers, "user_headers": {"role": "admin"}}
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        channel.basic_publish(names.exchange, names.routing_key, body, untouched)
        channel.basic_publish(names.exchange, names.routing_key, body, tampered)
    first = client.get("/Consume")
    assert (first.headers["Monty-Header-role"], first.headers["Monty-Producer-Verified"]) == (
        "reader",
        "true",
    )
    second = client.get("/Consume")
    assert (second.headers["Monty-Header-role"], second.headers["Monty-Producer-Verified"]) == (
        "admin",
        "false",
    )


def _fields(properties: Any) -> dict[str, Any]:
    """The settable fields of a message's properties, to publish a copy of it."""
    return {
        "content_type": properties.content_type,
        "delivery_mode": properties.delivery_mode,
        "message_id": properties.message_id,
        "timestamp": properties.timestamp,
        "app_id": properties.app_id,
        "headers": dict(properties.headers),
    }


def test_headers_another_amqp_client_set_are_read_tolerantly(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """A user_headers table with entries breaking the rules is still delivered, with the usable ones."""
    client.get("/Consume")
    properties = pika.BasicProperties(
        content_type="application/json",
        headers={
            "user_headers": {"ok": "yes", "x-death": "no", "bad\nname": "no", "n": 5, "nested": {"a": 1}}
        },
    )
    with admin_channel(amqp_url) as channel:
        channel.confirm_delivery()
        channel.basic_publish(names.exchange, names.routing_key, b"{}", properties)
        channel.basic_publish(names.exchange, names.routing_key, b"{}", properties)
    response = client.get("/Consume")
    assert response.headers["Monty-Header-ok"] == "yes"
    assert _client_header_names(response) == ["Monty-Header-ok"]
    assert client.get("/Consume/batch").get_json()["messages"][0]["headers"] == {"ok": "yes"}


def test_headers_through_the_real_server(live_exchange: ServiceProcess, test_keys: TestKeys) -> None:
    """Over gunicorn: any case of name arrives lower-cased; a name with an underscore never reaches
    the gateway (the server drops it)."""
    auth = test_keys.bearer("user-1", ["producer", "consumer"])
    published = requests.post(
        f"{live_exchange.url}/Message",
        json={"n": 1},
        headers={**auth, "MONTY-HEADER-Trace-ID": "t-1", "Monty-Header-order_id": "dropped"},
        timeout=10,
    )
    assert published.status_code == 200, published.text
    consumed = requests.get(f"{live_exchange.url}/Consume/batch", headers=auth, timeout=10).json()
    assert consumed["messages"][0]["headers"] == {"trace-id": "t-1"}


def test_the_document_describes_headers(client: FlaskClient) -> None:
    """The publish routes explain the headers and their 422; consumes show them."""
    document = client.get(OPENAPI_URL).get_json()
    for path in ("/Message", "/Messages"):
        post = document["paths"][path]["post"]
        assert "Monty-Header-" in post["description"]
        assert "422" in post["responses"]
    consume = document["paths"]["/Consume"]["get"]["responses"]["200"]["headers"]
    assert "Monty-Header-{name}" in consume
    taken = document["components"]["schemas"]["TakenMessage"]
    assert "headers" in taken["properties"]
