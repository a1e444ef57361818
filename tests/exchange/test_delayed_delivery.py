"""?delay=N on publish: no consumer, nor the archive's queue, sees the message before its time."""

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from monty_common.broker.delays import DelayQueue
from monty_common.openapi_app import OPENAPI_URL
from support.archive import ArchiveNames
from support.broker_admin import admin_channel, delete_topology, queue_depth, queue_exists
from support.names import Names
from support.polling import wait_until
from support.problems import assert_problem


@pytest.fixture
def archive_queue(amqp_url: str, names: Names) -> Iterator[str]:
    """The archive's queue, bound to the same exchange and key as the work queue; deleted after."""
    archive = ArchiveNames.around(names)
    with admin_channel(amqp_url) as channel:
        archive.declare(channel)
    yield archive.queue
    delete_topology(amqp_url, archive.dead_letter_exchange, [archive.queue, archive.dead_letter_queue])


def _holds(amqp_url: str, queue: str, count: int) -> Callable[[], bool]:
    """Whether `queue` holds `count` messages or more."""
    return lambda: queue_depth(amqp_url, queue) >= count


def _nothing_yet_then(amqp_url: str, queues: list[str], count: int, started: float, delay: float) -> None:
    """Each queue holds nothing now, and `count` messages once `delay` seconds have passed since `started`."""
    for queue in queues:
        assert queue_depth(amqp_url, queue) == 0, f"{queue} got a delayed message at once"
    for queue in queues:
        wait_until(_holds(amqp_url, queue, count), delay + 10, f"the delayed messages in {queue}")
    assert time.monotonic() - started >= delay - 0.01, "a delayed message arrived early"


def test_a_delayed_message_is_not_there_before_its_time_and_is_there_after(
    client: FlaskClient, amqp_url: str, names: Names, archive_queue: str
) -> None:
    """Neither the work queue nor the archive's has it before `delay` seconds; both have it after,
    and the answer says when (deliver_at = published_at + delay)."""
    client.get("/Consume")  # declares the topology
    started = time.monotonic()
    answer = client.post(
        "/Message", json={"later": True}, query_string={"delay": 2}, headers={"Monty-Header-k": "v"}
    )
    assert answer.status_code == 200, answer.get_json()
    published = answer.get_json()
    assert datetime.fromisoformat(published["deliver_at"]) == datetime.fromisoformat(
        published["published_at"]
    ) + timedelta(seconds=2)
    assert client.get("/Consume").headers["Monty-Queue-Empty"] == "true"
    _nothing_yet_then(amqp_url, [names.queue, archive_queue], 1, started, 2)
    message = client.get("/Consume/batch").get_json()["messages"][0]
    assert message["body"] == {"later": True}
    assert message["message_id"] == published["message_id"]
    assert message["headers"] == {"k": "v"}
    assert message["producer_verified"] is True


def test_no_delay_means_at_once_and_no_deliver_at(client: FlaskClient) -> None:
    """delay=0 (the default) publishes straight to the exchange."""
    published = client.post("/Message", json={"now": True}, query_string={"delay": 0}).get_json()
    assert "deliver_at" not in published
    assert client.get("/Consume").get_json() == {"now": True}


def test_a_delayed_batch_arrives_whole_after_its_delay(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """POST /Messages?delay=N: every element waits, each result says when it is delivered."""
    client.get("/Consume")
    started = time.monotonic()
    answer = client.post(
        "/Messages", data=b"[1, 2, 3]", content_type="application/json", query_string={"delay": 1}
    )
    assert answer.status_code == 200, answer.get_json()
    results = answer.get_json()["results"]
    for result in results:
        assert datetime.fromisoformat(result["deliver_at"]) == datetime.fromisoformat(
            result["published_at"]
        ) + timedelta(seconds=1)
    _nothing_yet_then(amqp_url, [names.queue], 3, started, 1)
    messages = client.get("/Consume/batch").get_json()["messages"]
    assert [message["body"] for message in messages] == [1, 2, 3]
    assert [message["message_id"] for message in messages] == [result["message_id"] for result in results]


@pytest.mark.parametrize("route", ["/Message", "/Messages"])
def test_a_delay_past_the_maximum_is_422_and_publishes_nothing(
    make_app: Callable[..., OpenAPI], amqp_url: str, names: Names, route: str
) -> None:
    """MONTY_MAX_DELAY bounds it; past it nothing is published, no delay queue declared."""
    client = make_app(max_delay=5).test_client()
    client.get("/Consume")
    body = b"{}" if route == "/Message" else b"[{}]"
    response = client.post(route, data=body, content_type="application/json", query_string={"delay": 6})
    problem = assert_problem(response, 422, "delay-too-long")
    assert "5" in problem["detail"]
    assert queue_depth(amqp_url, names.queue) == 0
    assert not queue_exists(amqp_url, DelayQueue(names.exchange, names.routing_key, 6).name)
    assert (
        client.post(route, data=body, content_type="application/json", query_string={"delay": 5}).status_code
        == 200
    )


@pytest.mark.parametrize("delay", ["-1", "1.5", "soon"])
def test_a_delay_that_is_not_a_whole_number_of_seconds_is_400(client: FlaskClient, delay: str) -> None:
    """Not an integer from 0: an invalid parameter."""
    response = client.post("/Message", json={}, query_string={"delay": delay})
    assert_problem(response, 400, "invalid-parameters")


def test_the_default_maximum_is_900_seconds(client: FlaskClient) -> None:
    """Past MONTY_MAX_DELAY's default, 900, is refused."""
    assert_problem(client.post("/Message", json={}, query_string={"delay": 901}), 422, "delay-too-long")


def test_the_document_gives_the_delay_and_its_maximum(make_app: Callable[..., OpenAPI]) -> None:
    """Both publish routes take delay, from 0 to the configured maximum, and answer deliver_at."""
    document = make_app(max_delay=120).test_client().get(OPENAPI_URL).get_json()
    for path in ("/Message", "/Messages"):
        post = document["paths"][path]["post"]
        (delay,) = [parameter for parameter in post["parameters"] if parameter["name"] == "delay"]
        assert delay["in"] == "query"
        assert (delay["schema"]["minimum"], delay["schema"]["maximum"]) == (0, 120)
    assert "deliver_at" in document["components"]["schemas"]["Published"]["properties"]
    assert "deliver_at" in document["components"]["schemas"]["PublishResult"]["properties"]
