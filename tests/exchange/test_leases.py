"""Leases against the real broker: receive, ack, nack, extend, expiry, receipts and dead letters."""

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pika
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from exchange_service.receipts import Receipt, ReceiptSigner
from monty_common.broker import dead_letter_queue_of
from monty_common.broker.leases import LeaseRef
from monty_common.envelope import DEAD_LETTER_REASON, DELIVERIES, LAST_ERROR, SOURCE_QUEUE
from monty_common.lifecycle import close_app
from support.broker_admin import admin_channel, get_raw, queue_depth
from support.names import Names
from support.polling import wait_until
from support.tokens import TestKeys

AppFactory = Callable[..., OpenAPI]


def _receive(client: FlaskClient, queue: str, **params: Any) -> list[dict[str, Any]]:
    """Receive under a lease; the messages."""
    response = client.post(f"/Queues/{queue}/receive", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["count"] == len(answer["messages"])
    messages: list[dict[str, Any]] = answer["messages"]
    return messages


def _settle(client: FlaskClient, queue: str, verb: str, receipts: list[str], **body: Any) -> Any:
    """ack, nack or extend; the response."""
    return client.post(f"/Queues/{queue}/{verb}", json={"receipts": receipts, **body})


def _statuses(response: Any) -> list[int]:
    """Each receipt's status."""
    return [result["status"] for result in response.get_json()["results"]]


def test_a_received_message_stays_in_the_broker_until_acked(
    client: FlaskClient, names: Names, amqp_url: str
) -> None:
    """Leased means unacknowledged in the broker, invisible to others; ack removes it for good."""
    raw = b'{"order": 1,  "items": [ "a" ]}'
    published = client.post("/Message", data=raw, content_type="application/json").get_json()

    [message] = _receive(client, names.queue, visibility=60)
    assert message["message_id"] == published["message_id"]
    assert message["body"] == {"order": 1, "items": ["a"]}
    assert message["delivery_count"] == 1
    assert message["receipt"]
    assert message["lease_expires_at"]
    assert _receive(client, names.queue) == []  # invisible to others meanwhile
    assert client.get("/Consume").headers["Monty-Queue-Empty"] == "true"

    response = _settle(client, names.queue, "ack", [message["receipt"]])
    assert response.status_code == 200
    assert response.get_json() == {
        "results": [{"receipt": message["receipt"], "message_id": published["message_id"], "status": 200}],
        "succeeded": 1,
        "failed": 0,
    }
    # Acked: a second ack finds no lease, and nothing is left to come back.
    again = _settle(client, names.queue, "ack", [message["receipt"]])
    assert again.status_code == 207
    assert again.get_json()["results"][0]["type"] == "urn:monty:problem:lease-gone"


def test_a_lease_not_acked_in_time_delivers_the_message_again_counted(
    client: FlaskClient, names: Names
) -> None:
    """Expiry releases the message with delivery_count + 1; the old receipt is then gone."""
    client.post("/Message", json={"n": 1})
    [first] = _receive(client, names.queue, visibility=1)

    redelivered: list[dict[str, Any]] = []
    wait_until(
        lambda: bool(redelivered.extend(_receive(client, names.queue, wait=1)) or redelivered),
        10,
        "redelivery",
    )
    [second] = redelivered
    assert second["message_id"] == first["message_id"]
    assert second["body"] == {"n": 1}
    assert second["delivery_count"] == 2
    assert _statuses(_settle(client, names.queue, "ack", [first["receipt"]])) == [410]
    assert _statuses(_settle(client, names.queue, "ack", [second["receipt"]])) == [200]


def test_nack_gives_the_message_back_at_once_and_counts_the_attempt(
    client: FlaskClient, names: Names
) -> None:
    """A released message comes again, one delivery more."""
    client.post("/Message", json={"n": 2})
    [first] = _receive(client, names.queue, visibility=60)
    assert _statuses(_settle(client, names.queue, "nack", [first["receipt"]], error="boom")) == [200]
    [second] = _receive(client, names.queue, wait=5)
    assert (second["message_id"], second["delivery_count"]) == (first["message_id"], 2)
    assert (first["last_error"], second["last_error"]) == (None, "boom")


def test_nack_with_a_delay_gives_the_message_back_only_after_it(
    client: FlaskClient, names: Names, amqp_url: str
) -> None:
    """nack with delay=N: the message is nowhere to be received for N seconds, then comes again,
    counted, with its producer's headers still vouched for."""
    client.post("/Message", json={"n": 3}, headers={"Monty-Header-tenant": "acme"})
    [first] = _receive(client, names.queue, visibility=60)
    assert first["headers"] == {"tenant": "acme"}
    started = time.monotonic()
    assert _statuses(_settle(client, names.queue, "nack", [first["receipt"]], delay=2)) == [200]
    assert _receive(client, names.queue) == []
    wait_until(lambda: queue_depth(amqp_url, names.queue) == 1, 12, "the released message after its delay")
    assert time.monotonic() - started >= 2 - 0.01
    [second] = _receive(client, names.queue)
    assert (second["message_id"], second["delivery_count"]) == (first["message_id"], 2)
    assert (second["headers"], second["producer_verified"]) == ({"tenant": "acme"}, True)


def test_after_max_deliveries_a_message_goes_to_the_dead_letter_queue_with_its_last_error(
    make_app: AppFactory, names: Names, amqp_url: str
) -> None:
    """The last failed delivery dead-letters the message with the reason and the nack's error."""
    client = make_app(max_deliveries=2).test_client()
    client.post("/Message", json={"poison": True})
    [first] = _receive(client, names.queue)
    _settle(client, names.queue, "nack", [first["receipt"]], error="first failure")
    [second] = _receive(client, names.queue, wait=5)
    assert second["delivery_count"] == 2
    assert _statuses(_settle(client, names.queue, "nack", [second["receipt"]], error="second failure")) == [
        200
    ]

    assert _receive(client, names.queue) == []
    dead = get_raw(amqp_url, dead_letter_queue_of(names.queue))
    assert dead is not None
    _method, properties, body = dead
    assert json.loads(body) == {"poison": True}
    assert properties.message_id == first["message_id"]
    assert properties.headers[DEAD_LETTER_REASON] == "max-deliveries"
    assert properties.headers[LAST_ERROR] == "second failure"
    assert properties.headers[SOURCE_QUEUE] == names.queue
    assert properties.headers[DELIVERIES] == 2


def test_a_message_delivered_too_often_elsewhere_is_dead_lettered_on_receive(
    make_app: AppFactory, names: Names, amqp_url: str
) -> None:
    """A copy already past max_deliveries (its count in the header) is not handed out."""
    client = make_app(max_deliveries=3).test_client()
    client.post("/Message", json={"warm": "up"})
    _settle(client, names.queue, "ack", [m["receipt"] for m in _receive(client, names.queue)])
    with admin_channel(amqp_url) as channel:
        channel.basic_publish(
            "",
            names.queue,
            b'{"old": true}',
            pika.BasicProperties(
                content_type="application/json", message_id="old-one", headers={DELIVERIES: 3}
            ),
        )
    assert _receive(client, names.queue, wait=1) == []
    wait_until(lambda: queue_depth(amqp_url, dead_letter_queue_of(names.queue)) == 1, 10, "the dead letter")


def test_extend_keeps_a_message_leased_past_its_first_visibility(client: FlaskClient, names: Names) -> None:
    """An extended lease does not expire at its first deadline."""
    client.post("/Message", json={"n": 3})
    [message] = _receive(client, names.queue, visibility=1)
    response = _settle(client, names.queue, "extend", [message["receipt"]], visibility=30)
    assert response.status_code == 200
    assert response.get_json()["results"][0]["lease_expires_at"] > message["lease_expires_at"]
    assert _receive(client, names.queue, wait=3) == []
    assert _statuses(_settle(client, names.queue, "ack", [message["receipt"]])) == [200]


def test_a_lease_cannot_be_extended_past_its_lifetime(make_app: AppFactory, names: Names) -> None:
    """MONTY_MAX_LEASE_SECONDS bounds a lease in all, below the broker's consumer timeout."""
    client = make_app(max_lease_seconds=40, max_visibility=40).test_client()
    client.post("/Message", json={"n": 4})
    [message] = _receive(client, names.queue)
    response = _settle(client, names.queue, "extend", [message["receipt"]], visibility=40)
    assert response.status_code == 207
    assert response.get_json()["results"][0]["type"] == "urn:monty:problem:lease-too-long"
    assert _statuses(_settle(client, names.queue, "extend", [message["receipt"]], visibility=10)) == [200]


def test_receipts_cannot_be_forged_altered_or_used_by_another_user(
    app: OpenAPI, names: Names, test_keys: TestKeys
) -> None:
    """A receipt is signed and bound to the user who received the message."""
    client = app.test_client()
    client.post("/Message", json={"n": 5})
    [message] = _receive(client, names.queue, visibility=60)
    receipt = message["receipt"]
    altered = receipt[:-1] + ("A" if receipt[-1] != "A" else "B")
    other = {"Authorization": f"Bearer {test_keys.token('someone-else', ['consumer'])}"}

    response = client.post(f"/Queues/{names.queue}/ack", json={"receipts": [altered, "nonsense"]})
    assert response.status_code == 207
    assert [r["type"] for r in response.get_json()["results"]] == ["urn:monty:problem:unknown-receipt"] * 2
    response = client.post(f"/Queues/{names.queue}/ack", json={"receipts": [receipt]}, headers=other)
    assert response.get_json()["results"][0]["status"] == 403
    assert _statuses(_settle(client, names.queue, "ack", [receipt])) == [200]


def test_bad_requests_are_problems_and_change_nothing(client: FlaskClient, names: Names) -> None:
    """Unknown queue 404; visibility past the maximum, no receipts, unknown fields: 400."""
    client.post("/Message", json={"n": 6})
    unknown = client.post("/Queues/no-such-queue/receive")
    assert unknown.status_code == 404
    assert unknown.get_json()["type"] == "urn:monty:problem:unknown-queue"
    too_long = client.post(f"/Queues/{names.queue}/receive", query_string={"visibility": 100000})
    assert too_long.status_code == 400
    assert too_long.get_json()["invalid_params"][0]["name"] == "visibility"
    for body in (
        {"receipts": []},
        {"receipt": "x"},
        {"receipts": ["x"], "extra": 1},
        {"receipts": ["x"] * 101},
    ):
        response = client.post(f"/Queues/{names.queue}/ack", json=body)
        assert response.status_code == 400, body
        assert response.mimetype == "application/problem+json"
    assert (
        client.post(f"/Queues/{names.queue}/nack", json={"receipts": ["x"], "delay": -1}).status_code == 400
    )
    too_late = client.post(f"/Queues/{names.queue}/nack", json={"receipts": ["x"], "delay": 10**6})
    assert too_late.status_code == 422
    assert too_late.get_json()["type"] == "urn:monty:problem:delay-too-long"
    assert len(_receive(client, names.queue)) == 1


def test_a_lease_held_by_another_process_is_settled_through_the_broker(
    make_app: AppFactory, names: Names
) -> None:
    """Two apps, two holders: one receives, the other acks, nacks and extends its leases."""
    first, second = make_app(), make_app()
    holder, other = first.test_client(), second.test_client()
    for n in range(3):
        holder.post("/Message", json={"n": n})
    messages = _receive(holder, names.queue, max=3, visibility=60)
    assert len(messages) == 3
    acked, nacked, extended = (m["receipt"] for m in messages)

    assert _statuses(_settle(other, names.queue, "ack", [acked])) == [200]
    assert _statuses(_settle(other, names.queue, "extend", [extended], visibility=45)) == [200]
    assert _statuses(_settle(other, names.queue, "nack", [nacked])) == [200]
    [again] = _receive(other, names.queue, wait=5)
    assert (again["message_id"], again["delivery_count"]) == (messages[1]["message_id"], 2)
    assert _statuses(_settle(other, names.queue, "ack", [acked])) == [410]

    # The holder stops: its leases go back to the queue, and its receipts name a holder that is gone.
    close_app(first)
    response = _settle(other, names.queue, "ack", [extended])
    assert _statuses(response) == [410]
    back = _receive(other, names.queue, wait=5)
    assert [m["message_id"] for m in back] == [messages[2]["message_id"]]
    assert back[0]["redelivered"] is True  # put back by the broker: marked, not counted
    _settle(other, names.queue, "ack", [again["receipt"], back[0]["receipt"]])


def test_waiting_receives_each_get_a_message_though_leases_stay_unacked(app: OpenAPI, names: Names) -> None:
    """A lease fills the waiting consumer's prefetch of one: the next waiter must still be served."""
    client = app.test_client()
    holder = app.extensions["monty.broker"].leases
    results: list[list[dict[str, Any]]] = []

    def receive() -> None:
        results.append(_receive(app.test_client(), names.queue, wait=15, visibility=60))

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for thread in threads:
        thread.start()
    wait_until(lambda: holder.waiting == 2, 10, "both receives waiting")
    client.post("/Message", json={"n": 1})
    client.post("/Message", json={"n": 2})
    for thread in threads:
        thread.join()
    assert sorted(message["body"]["n"] for batch in results for message in batch) == [1, 2]


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_a_receipt_altered_anywhere_reads_as_no_receipt() -> None:
    """Every character counts: a stray one added, any one changed, the last one's spare bits too."""
    signer = ReceiptSigner("a service secret of some length")
    genuine = Receipt("q", LeaseRef("amq.gen-holder", 7), "user", "id")
    receipt = signer.issue(genuine)
    assert signer.read(receipt) == genuine
    last = _ALPHABET.index(receipt[-1])
    altered = [
        receipt[:-1] + _ALPHABET[last ^ 1],  # differs only in bits base64 decoders ignore
        receipt[:5] + "!" + receipt[5:],  # a character base64 decoders skip
        receipt + "=",
        receipt.replace(".", ".A", 1),
        *(receipt[:n] + ("B" if receipt[n] == "A" else "A") + receipt[n + 1 :] for n in range(len(receipt))),
    ]
    assert [text for text in altered if signer.read(text) is not None] == []
