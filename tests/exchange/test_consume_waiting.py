"""Long polling and batch consume against the real broker: GET /Consume?wait= and GET /Consume/batch."""

import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pika
import pytest
import requests
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from exchange_service.waiting import take_waiting
from support.broker_admin import admin_channel, publish_json, queue_depth
from support.names import Names
from support.polling import wait_until
from support.problems import assert_problem
from support.processes import ServiceProcess
from support.tokens import TestKeys


def waiting(client: FlaskClient) -> int:
    """How many consumes wait in the client's app now."""
    count: int = client.application.extensions["monty.broker"].getter.waiting
    return count


def wait_for_waiters(client: FlaskClient, count: int = 1) -> None:
    """Return once `count` consumes wait in the client's app."""
    wait_until(lambda: waiting(client) >= count, 10, f"{count} waiting consume(s)")


def publish_once_waiting(client: FlaskClient, body: object) -> threading.Thread:
    """From another thread, publish `body` through the gateway as soon as a consume waits."""

    def publish() -> None:
        wait_for_waiters(client)
        assert client.post("/Message", json=body).status_code == 200

    thread = threading.Thread(target=publish)
    thread.start()
    return thread


def test_a_waiting_consume_answers_when_a_message_arrives(client: FlaskClient) -> None:
    """With wait=20 on an empty queue, the message published a moment later is the answer at once."""
    client.get("/Consume")
    publisher = publish_once_waiting(client, {"late": True})
    started = time.monotonic()
    response = client.get("/Consume?wait=20")
    waited = time.monotonic() - started
    publisher.join()
    assert response.headers["Monty-Queue-Empty"] == "false"
    assert response.get_json() == {"late": True}
    # Not a speed figure: a wait that ignored the arrival would take the full 20 s.
    assert waited < 10


def test_a_wait_that_sees_nothing_ends_with_the_empty_sentence(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """After the wait the queue is still empty: the usual empty answer, and no consumer left behind."""
    client.get("/Consume")
    started = time.monotonic()
    response = client.get("/Consume?wait=1")
    assert time.monotonic() - started >= 0.9
    assert response.headers["Monty-Queue-Empty"] == "true"
    assert client.post("/Message", json={"after": True}).status_code == 200
    # Had the wait's consumer outlived it, the message would be held by the gateway, not queued.
    assert queue_depth(amqp_url, names.queue) == 1
    with admin_channel(amqp_url) as channel:
        assert channel.queue_declare(names.queue, passive=True).method.consumer_count == 0


def test_concurrent_waiters_each_get_a_different_message(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """Five waiting consumes and five messages: each message answered once, none lost or doubled."""
    client.get("/Consume")
    with ThreadPoolExecutor(max_workers=5) as pool:
        waits = [pool.submit(client.get, "/Consume?wait=15") for _ in range(5)]
        wait_for_waiters(client, 5)
        for number in range(5):
            assert client.post("/Message", json=number).status_code == 200
        answers = [future.result() for future in waits]
    assert sorted(answer.get_json() for answer in answers) == [0, 1, 2, 3, 4]
    assert queue_depth(amqp_url, names.queue) == 0


def test_batch_consume_takes_up_to_max_in_order(client: FlaskClient, amqp_url: str, names: Names) -> None:
    """max=3 of five messages, then the other two, then none; bodies embedded byte for byte."""
    raws = [b'{"n": 0}', b"[1, 2.50]", b'"two"', b"3", b"null"]
    for raw in raws:
        assert client.post("/Message", data=raw, content_type="application/json").status_code == 200
    first = client.get("/Consume/batch?max=3")
    assert first.status_code == 200
    assert first.mimetype == "application/json"
    assert b'"body": [1, 2.50]' in first.data
    page = first.get_json()
    assert page["count"] == 3
    assert [message["body"] for message in page["messages"]] == [{"n": 0}, [1, 2.5], "two"]
    assert all(message["message_id"] and message["published_at"] for message in page["messages"])
    assert [message["body"] for message in client.get("/Consume/batch?max=10").get_json()["messages"]] == [
        3,
        None,
    ]
    assert client.get("/Consume/batch?max=10").get_json() == {
        "messages": [],
        "count": 0,
        "byte_limited": False,
    }
    assert queue_depth(amqp_url, names.queue) == 0


def test_batch_consume_shows_other_messages_in_base64(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """A message another client published that is not JSON comes as body_base64."""
    client.get("/Consume")
    with admin_channel(amqp_url) as channel:
        channel.basic_publish(
            names.exchange, names.routing_key, b"\x00\xffraw", pika.BasicProperties(content_type="text/plain")
        )
    message = client.get("/Consume/batch").get_json()["messages"][0]
    assert message["body_base64"] == "AP9yYXc="
    assert message["content_type"] == "text/plain"
    assert "body" not in message


def test_batch_consume_waits_for_the_first_message(client: FlaskClient) -> None:
    """On an empty queue, wait=20 answers with the first message to arrive."""
    client.get("/Consume")
    publisher = publish_once_waiting(client, {"late": 1})
    page = client.get("/Consume/batch?max=100&wait=20").get_json()
    publisher.join()
    assert [message["body"] for message in page["messages"]] == [{"late": 1}]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/Consume?wait=21", "wait"),
        ("/Consume?wait=-1", "wait"),
        ("/Consume?wait=soon", "wait"),
        ("/Consume/batch?max=0", "max"),
        ("/Consume/batch?max=101", "max"),
        ("/Consume/batch?wait=30", "wait"),
    ],
)
def test_out_of_range_parameters_are_400_naming_them(client: FlaskClient, path: str, name: str) -> None:
    """wait is 0 to 20 seconds, max 1 to 100."""
    body = assert_problem(client.get(path), 400, "invalid-parameters")
    assert [item["name"] for item in body["invalid_params"]] == [name]  # type: ignore[union-attr]


def test_waiting_consumes_need_the_consumer_role(
    make_app: Callable[..., OpenAPI], test_keys: TestKeys
) -> None:
    """A producer's token is refused before anything waits."""
    client = make_app().test_client()
    headers = test_keys.bearer("writer", ["producer"])
    assert_problem(client.get("/Consume?wait=5", headers=headers), 403, "forbidden")
    assert_problem(client.get("/Consume/batch?wait=5", headers=headers), 403, "forbidden")


def test_large_batches_come_whole_in_order_and_never_overshoot(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """250 messages taken 100 at a time: in publishing order, none doubled or marked redelivered."""
    client.get("/Consume")
    publish_json(amqp_url, names.exchange, names.routing_key, (str(n).encode() for n in range(250)))
    pages = [client.get("/Consume/batch?max=100").get_json() for _ in range(4)]
    assert [page["count"] for page in pages] == [100, 100, 50, 0]
    bodies = [message["body"] for page in pages for message in page["messages"]]
    assert bodies == list(range(250))
    assert not any(message["redelivered"] for page in pages for message in page["messages"])
    assert queue_depth(amqp_url, names.queue) == 0


def test_concurrent_batches_share_the_queue_without_loss_or_duplicates(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """Batch and single takes from many threads at once: every message answered exactly once."""
    client.get("/Consume")
    publish_json(amqp_url, names.exchange, names.routing_key, (str(n).encode() for n in range(600)))

    def drain(path: str) -> list[int]:
        taken: list[int] = []
        while True:
            answer = client.get(path)
            if path.startswith("/Consume/batch"):
                page = answer.get_json()["messages"]
                if not page:
                    return taken
                taken += [message["body"] for message in page]
            elif answer.headers["Monty-Queue-Empty"] == "true":
                return taken
            else:
                taken.append(answer.get_json())

    paths = ["/Consume/batch?max=100", "/Consume/batch?max=37", "/Consume/batch?max=5", "/Consume"] * 2
    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        results = list(pool.map(drain, paths))
    everything = [number for taken in results for number in taken]
    assert sorted(everything) == list(range(600))
    assert queue_depth(amqp_url, names.queue) == 0


def test_waiters_beyond_half_the_threads_are_told_to_come_back(
    make_app: Callable[..., OpenAPI], amqp_url: str, names: Names
) -> None:
    """With two request threads one may wait; another waiter on the empty queue is told to come back
    after MONTY_RETRY_AFTER seconds."""
    client = make_app(threads=2, retry_after=7).test_client()
    client.get("/Consume")
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiter = pool.submit(client.get, "/Consume?wait=15")
        wait_for_waiters(client)
        refused = assert_problem(client.get("/Consume/batch?wait=5"), 429, "too-many-waiting")
        assert refused["status"] == 429
        assert client.get("/Consume?wait=5").headers["Retry-After"] == "7"
        assert client.post("/Message", json={"for": "the waiter"}).status_code == 200
        assert waiter.result().get_json() == {"for": "the waiter"}
    # The slot is free again: a new waiter waits and gets the next message.
    publisher = publish_once_waiting(client, {"next": 1})
    assert client.get("/Consume?wait=15").get_json() == {"next": 1}
    publisher.join()
    assert queue_depth(amqp_url, names.queue) == 0


def test_without_a_free_slot_what_the_queue_holds_is_still_answered(make_app: Callable[..., OpenAPI]) -> None:
    """A waiter finding no slot takes at once (wait 0) and gets the messages there; 429 only when none."""
    app = make_app(threads=2)
    asked: list[float] = []

    def take(seconds: float) -> list[str]:
        asked.append(seconds)
        return ["a message"]

    with app.app_context():
        slots = app.extensions["monty.wait_slots"]
        assert slots.acquire(blocking=False)
        try:
            assert take_waiting(take, 5) == ["a message"]
        finally:
            slots.release()
        assert take_waiting(take, 5) == ["a message"]
    assert asked == [0.0, 5.0]


def test_long_polls_work_again_after_the_queue_is_replaced_under_a_waiter(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """The broker cancels the waiting consumer with its queue; once the queue is back, waits get messages."""
    client.get("/Consume")
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiter = pool.submit(client.get, "/Consume?wait=3")
        wait_for_waiters(client)
        with admin_channel(amqp_url) as channel:
            channel.queue_delete(names.queue)
            channel.queue_declare(names.queue, durable=True)
            channel.queue_bind(names.queue, names.exchange, names.routing_key)
        assert waiter.result().status_code in (200, 503)  # answered, not stuck
    publisher = publish_once_waiting(client, {"after": "the replacement"})
    answer = client.get("/Consume?wait=10")
    publisher.join()
    assert answer.status_code == 200
    assert answer.get_json() == {"after": "the replacement"}


def test_a_long_poll_whose_client_left_takes_nothing(
    live_exchange: ServiceProcess, amqp_url: str, names: Names, test_keys: TestKeys
) -> None:
    """A client opens GET /Consume?wait=20 and goes away: the message published next is not taken
    for it (and lost), but is there for the next consumer."""
    token = test_keys.token("consumer-1", ["consumer"])
    bearer = {"Authorization": f"Bearer {token}"}
    assert requests.get(live_exchange.url + "/Consume", headers=bearer, timeout=10).ok  # declares the queue
    with socket.create_connection(("127.0.0.1", live_exchange.port or 0)) as gone:
        gone.sendall(
            b"GET /Consume?wait=20 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {token}\r\n\r\n".encode()
        )
        wait_until(lambda: _consumers(amqp_url, names.queue) == 1, 10, "the long poll to wait")
    publish_json(amqp_url, names.exchange, names.routing_key, [b'{"for": "whoever asks next"}'])
    answer = requests.get(
        live_exchange.url + "/Consume?wait=10", headers={"Authorization": f"Bearer {token}"}, timeout=20
    )
    assert answer.headers["Monty-Queue-Empty"] == "false"
    assert answer.json() == {"for": "whoever asks next"}


def _consumers(amqp_url: str, queue: str) -> int:
    """Consumers of `queue` on the broker."""
    with admin_channel(amqp_url) as channel:
        count: int = channel.queue_declare(queue, passive=True).method.consumer_count
        return count


def test_a_served_batch_reports_the_verified_producer(
    live_exchange: ServiceProcess, test_keys: TestKeys
) -> None:
    """Under the real server the batch answer is written after the request's context is gone, and
    still says the gateway verified the producer."""
    bearer = {"Authorization": f"Bearer {test_keys.token('admin-user', ['admin'])}"}
    posted = requests.post(live_exchange.url + "/Message", json={"n": 1}, headers=bearer, timeout=10)
    assert posted.status_code == 200
    answer = requests.get(live_exchange.url + "/Consume/batch?max=5", headers=bearer, timeout=10)
    assert answer.status_code == 200
    assert [message["producer_verified"] for message in answer.json()["messages"]] == [True]
