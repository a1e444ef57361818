"""Leases under faults and races: reconnects, slow or silent holders, budgets, a publisher down."""

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pika
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from exchange_service.extensions import BrokerLinks, broker
from exchange_service.receipts import Receipt, ReceiptSigner
from monty_common.broker.leases import LeaseRef
from support.broker_admin import admin_channel
from support.names import Names
from support.polling import wait_until
from support.users import SERVICE_SECRET

AppFactory = Callable[..., OpenAPI]


def _links(app: OpenAPI) -> BrokerLinks:
    """The app's broker links."""
    with app.app_context():
        return broker.get()


def _connected(app: OpenAPI) -> OpenAPI:
    """`app` once its publishing and leasing links are connected (its broker timeout may be short)."""
    links = _links(app)
    for link in (links.publisher.link, links.leases.link):
        link.wait_ready(time.monotonic() + 10)
    return app


def _receive(client: FlaskClient, queue: str, **params: Any) -> list[dict[str, Any]]:
    """Receive under a lease; the messages."""
    response = client.post(f"/Queues/{queue}/receive", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    messages: list[dict[str, Any]] = response.get_json()["messages"]
    return messages


def _statuses(client: FlaskClient, queue: str, verb: str, receipts: list[str], **body: Any) -> list[int]:
    """Each receipt's status after ack, nack or extend."""
    response = client.post(f"/Queues/{queue}/{verb}", json={"receipts": receipts, **body})
    return [result["status"] for result in response.get_json()["results"]]


def _foreign_receipt(queue: str, holder: str, own_receipt: str) -> str:
    """A genuine receipt, for the same user, of a lease held by `holder`."""
    signer = ReceiptSigner(SERVICE_SECRET)
    own = signer.read(own_receipt)
    assert own is not None
    return signer.issue(Receipt(queue, LeaseRef(holder, 1), own.owner, "elsewhere"))


def test_a_receipt_from_before_a_reconnect_never_settles_what_the_new_channel_holds(
    app: OpenAPI, names: Names
) -> None:
    """Delivery tags start again on a new channel: an old receipt must not ack the new tag's message."""
    client = app.test_client()
    holder = _links(app).leases
    client.post("/Message", json={"n": "A"})
    [a] = _receive(client, names.queue, visibility=60)  # delivery tag 1 of the first channel
    client.post("/Message", json={"n": "B"})
    real_wait_ready = holder.link.wait_ready
    leased: list[dict[str, Any]] = []

    def reconnect_first(deadline: float) -> None:
        # Between the request thread deciding where the lease is held and the I/O thread acting.
        holder.link.wait_ready = real_wait_ready  # type: ignore[method-assign]
        old = holder._inbox.name
        holder.link._session.close_threadsafe()  # type: ignore[union-attr]
        wait_until(lambda: holder._inbox.name not in (None, old), 10, "the lease link back")
        leased.extend(_receive(app.test_client(), names.queue, max=2, visibility=60))
        real_wait_ready(deadline)

    holder.link.wait_ready = reconnect_first  # type: ignore[method-assign]
    answer = _statuses(client, names.queue, "ack", [a["receipt"]])
    # A came back (the channel closed) and B was leased on the new channel, tags 1 and 2.
    assert sorted(message["body"]["n"] for message in leased) == ["A", "B"]
    assert answer == [410]
    assert _statuses(client, names.queue, "ack", [message["receipt"] for message in leased]) == [200, 200]


def test_a_release_whose_request_gives_up_still_happens(make_app: AppFactory, names: Names) -> None:
    """Once claimed, a lease is released even if its request stops waiting: never left claimed."""
    app = _connected(make_app(broker_timeout=1.0))
    client = app.test_client()
    book = _links(app).leases._book
    client.post("/Message", json={"n": 1})
    [message] = _receive(client, names.queue, visibility=60)
    real = book.begin_release

    def slow_claim(tag: int, owner: str) -> Any:
        time.sleep(1.5)  # the I/O thread is busy past the request's deadline
        return real(tag, owner)

    book.begin_release = slow_claim  # type: ignore[method-assign]
    try:
        answer = _statuses(client, names.queue, "nack", [message["receipt"]])
    finally:
        book.begin_release = real  # type: ignore[method-assign]
    assert answer in ([200], [504])  # done, or not known yet: never "nothing was done"
    [back] = _receive(client, names.queue, wait=5)
    assert (back["message_id"], back["delivery_count"]) == (message["message_id"], 2)


def test_a_silent_remote_holder_does_not_starve_this_process_s_receipts(
    make_app: AppFactory, names: Names
) -> None:
    """Every holder is asked at once: local receipts are settled while a remote one goes unanswered."""
    client = _connected(make_app(broker_timeout=1.0)).test_client()
    client.post("/Message", json={"n": 1})
    [message] = _receive(client, names.queue, visibility=60)
    silent = f"test-silent-holder-{uuid.uuid4().hex[:8]}"
    with admin_channel("amqp://guest:guest@127.0.0.1:5672/") as channel:
        channel.queue_declare(silent)
        try:
            remote = _foreign_receipt(names.queue, silent, message["receipt"])
            statuses = _statuses(client, names.queue, "ack", [remote, message["receipt"]])
        finally:
            channel.queue_delete(silent)
    assert statuses == [504, 200]


def test_concurrent_receives_stay_within_the_leased_bytes_budget(make_app: AppFactory, names: Names) -> None:
    """MONTY_MAX_LEASED_BYTES holds for receives racing each other (one message past it each, at most)."""
    app = make_app(max_leased_bytes=8000)
    holder = _links(app).leases
    publisher = app.test_client()
    for n in range(100):
        publisher.post("/Message", json={"n": n, "pad": "x" * 980})
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def receive() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/Queues/{names.queue}/receive", query_string={"max": 100, "visibility": 60})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=receive) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert holder.held_bytes <= 8000 + 8 * 2100, holder.held_bytes
    assert set(statuses) <= {200, 429}
    refused = publisher.post(f"/Queues/{names.queue}/receive", query_string={"max": 100})
    assert refused.status_code == 429
    assert refused.get_json()["type"] == "urn:monty:problem:too-many-leased"


def test_a_nack_whose_copy_cannot_be_stored_says_so(app: OpenAPI, names: Names) -> None:
    """With the publisher gone, the message is put back as it was, and the nack does not claim success."""
    client = app.test_client()
    client.post("/Message", json={"n": 1})
    [first] = _receive(client, names.queue, visibility=60)
    _links(app).publisher.close()
    assert _statuses(client, names.queue, "nack", [first["receipt"]], error="boom") == [503]
    [second] = _receive(client, names.queue, wait=3)
    assert (second["message_id"], second["redelivered"]) == (first["message_id"], True)


def test_every_receipt_issued_can_be_given_back(client: FlaskClient, names: Names, amqp_url: str) -> None:
    """The longest message_id AMQP allows (255 bytes of UTF-8) still makes a receipt ack accepts."""
    assert _receive(client, names.queue) == []  # the queue is declared
    with admin_channel(amqp_url) as channel:
        channel.basic_publish(
            "",
            names.queue,
            b"{}",
            pika.BasicProperties(content_type="application/json", message_id="zamówienie-" + "é" * 121),
        )
    [message] = _receive(client, names.queue, wait=2, visibility=60)
    assert _statuses(client, names.queue, "ack", [message["receipt"]]) == [200]


def test_nack_with_a_delay_keeps_the_message_back_for_the_delay(client: FlaskClient, names: Names) -> None:
    """A released message is visible again only after its delay."""
    client.post("/Message", json={"n": 1})
    [message] = _receive(client, names.queue, visibility=60)
    assert _statuses(client, names.queue, "nack", [message["receipt"]], delay=3) == [200]
    assert _receive(client, names.queue, wait=1) == []
    [back] = _receive(client, names.queue, wait=10)
    assert (back["message_id"], back["delivery_count"]) == (message["message_id"], 2)
