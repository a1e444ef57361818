"""POST /Message and POST /Messages with an Idempotency-Key: published once, retries answered the first
outcome, against the real broker and each real store."""

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI
from werkzeug.test import TestResponse

from support.amqp_proxy import AmqpProxy
from support.broker_admin import message_ids, queue_depth, queue_exists
from support.names import Names
from support.polling import wait_until
from support.ports import free_port
from support.problems import assert_problem
from support.processes import run_to_exit
from support.tokens import TestKeys

EXCHANGE_SCRIPT = "Microservices/ExchangeMicroservice/app.py"
KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
# Far above every timeout the tests configure: reaching it means a request hung.
HANG = 30.0


def new_key() -> str:
    """A key of the form clients are told to use."""
    return str(uuid.uuid4())


def messages_in(amqp_url: str, queue: str) -> int:
    """Messages `queue` holds (none before the gateway first publishes and so declares it)."""
    return queue_depth(amqp_url, queue) if queue_exists(amqp_url, queue) else 0


def post(client: FlaskClient, body: Any, key: str | None, **headers: str) -> TestResponse:
    """POST /Message with `body` as JSON, under `key` if given."""
    if key is not None:
        headers[KEY] = key
    return client.post("/Message", json=body, headers=headers)


def post_batch(client: FlaskClient, bodies: list[Any], key: str | None, **headers: str) -> TestResponse:
    """POST /Messages with `bodies` as a JSON array, under `key` if given."""
    if key is not None:
        headers[KEY] = key
    return client.post("/Messages", json=bodies, headers=headers)


@pytest.mark.parametrize("route", ["/Message", "/Messages"])
def test_a_retry_is_answered_the_first_outcome_and_published_once(
    make_app: Callable[..., OpenAPI], idempotency_url: str, amqp_url: str, names: Names, route: str
) -> None:
    """The same request twice under one key: one message; the retry gets the first answer, marked."""
    client = make_app(idempotency_url=idempotency_url).test_client()
    key = new_key()
    send = post if route == "/Message" else post_batch
    body: Any = {"order": 1} if route == "/Message" else [{"order": 1}, {"order": 2}]
    first = send(client, body, key)
    assert first.status_code == 200, first.get_json()
    assert REPLAYED not in first.headers
    retry = send(client, body, key)
    assert retry.status_code == 200, retry.get_json()
    assert retry.headers[REPLAYED] == "true"
    if route == "/Message":
        assert retry.get_json() == first.get_json()
    else:
        assert retry.get_json()["results"] == [
            {**result, "replayed": True} for result in first.get_json()["results"]
        ]
    assert queue_depth(amqp_url, names.queue) == (1 if route == "/Message" else 2)


def test_a_key_reused_for_another_body_is_409(client: FlaskClient, amqp_url: str, names: Names) -> None:
    """Another body under a used key is refused and not published."""
    key = new_key()
    assert post(client, {"order": 1}, key).status_code == 200
    assert_problem(post(client, {"order": 2}, key), 409, "idempotency-key-reused")
    assert queue_depth(amqp_url, names.queue) == 1


def test_the_query_and_monty_headers_belong_to_the_request(
    client: FlaskClient, amqp_url: str, names: Names
) -> None:
    """The query string and every Monty-* header (whatever its case) count as the body does."""
    key = new_key()
    body = {"order": 1}
    assert post(client, body, key, **{"Monty-Header-Trace": "a"}).status_code == 200
    assert post(client, body, key, **{"monty-header-trace": "a"}).headers[REPLAYED] == "true"
    assert_problem(post(client, body, key, **{"Monty-Header-Trace": "b"}), 409, "idempotency-key-reused")
    assert_problem(post(client, body, key), 409, "idempotency-key-reused")
    with_query = client.post("/Message?delay=5", json=body, headers={KEY: key, "Monty-Header-Trace": "a"})
    assert_problem(with_query, 409, "idempotency-key-reused")
    # Other headers are not the request's: a retry may carry another token or trace id.
    assert post(client, body, key, **{"Monty-Header-Trace": "a", "X-Request-Id": "1"}).status_code == 200
    assert queue_depth(amqp_url, names.queue) == 1


def test_keys_belong_to_their_producer_and_route(
    client: FlaskClient, test_keys: TestKeys, amqp_url: str, names: Names
) -> None:
    """Another producer's key, or the same key on the other route, is another key."""
    key = new_key()
    mine = post(client, {"order": 1}, key).get_json()
    theirs = post(client, {"order": 1}, key, **test_keys.bearer("someone-else", ["producer"]))
    assert theirs.status_code == 200
    assert REPLAYED not in theirs.headers
    assert theirs.get_json()["message_id"] != mine["message_id"]
    assert post_batch(client, [{"order": 1}], key).status_code == 200
    assert queue_depth(amqp_url, names.queue) == 3


@pytest.mark.parametrize("key", ["", " ", "two words", "caf\u00e9", "tab\there", "k" * 256])
@pytest.mark.parametrize("route", ["/Message", "/Messages"])
def test_a_malformed_key_is_400_and_nothing_is_published(
    client: FlaskClient, amqp_url: str, names: Names, key: str, route: str
) -> None:
    """A key must be 1 to 255 visible ASCII characters."""
    answer = client.post(route, json=[1] if route == "/Messages" else 1, headers={KEY: key})
    problem = assert_problem(answer, 400, "invalid-parameters")
    assert [param["name"] for param in problem["invalid_params"]] == [KEY]
    assert messages_in(amqp_url, names.queue) == 0


@pytest.mark.parametrize("key", ["k" * 255, "!", "~#$%&'*+-.^_`|0123abcXYZ{}[]()<>@,;:\\\"/?="])
def test_every_visible_ascii_key_up_to_255_characters_is_taken(client: FlaskClient, key: str) -> None:
    """The whole pattern is accepted, up to its length."""
    assert post(client, 1, key).status_code == 200
    assert post(client, 1, key).headers[REPLAYED] == "true"


def test_bad_input_is_not_recorded(client: FlaskClient, amqp_url: str, names: Names) -> None:
    """A refused body leaves its key unused: the corrected request publishes under it."""
    key = new_key()
    bad = client.post("/Message", data=b"{not json", content_type="application/json", headers={KEY: key})
    assert_problem(bad, 400)
    assert_problem(client.post("/Message", data=b"1", headers={KEY: key}), 415)
    assert post(client, {"order": 1}, key).status_code == 200
    assert queue_depth(amqp_url, names.queue) == 1


def test_a_publish_the_broker_did_not_take_lets_the_key_go(
    make_app: Callable[..., OpenAPI], amqp_url: str, names: Names
) -> None:
    """After a 503 (nothing stored) a retry with the same key publishes, on any process sharing the store."""
    key = new_key()
    down = make_app(amqp_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/", broker_timeout=1.0)
    assert_problem(post(down.test_client(), {"order": 1}, key), 503, "broker-unavailable")
    retry = post(make_app().test_client(), {"order": 1}, key)
    assert retry.status_code == 200
    assert REPLAYED not in retry.headers
    assert queue_depth(amqp_url, names.queue) == 1


@pytest.mark.parametrize("route", ["/Message", "/Messages"])
def test_an_unreachable_store_is_503_and_nothing_is_published(
    make_app: Callable[..., OpenAPI], amqp_url: str, names: Names, route: str
) -> None:
    """Nothing listens where the store should be: 503 with Retry-After, nothing published; requests
    without a key are not affected."""
    client = make_app(idempotency_url=f"redis://127.0.0.1:{free_port()}/0").test_client()
    send = post if route == "/Message" else post_batch
    body: Any = 1 if route == "/Message" else [1, 2]
    answer = send(client, body, new_key())
    assert_problem(answer, 503, "idempotency-store-unavailable")
    assert int(answer.headers["Retry-After"]) >= 1
    assert messages_in(amqp_url, names.queue) == 0
    assert send(client, body, None).status_code == 200


def in_thread(call: Callable[[], TestResponse]) -> Callable[[], TestResponse]:
    """Start `call` in a thread; the returned function waits for its answer (failing if it hangs)."""
    result: list[TestResponse] = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()

    def answer() -> TestResponse:
        worker.join(HANG)
        assert result, "the request hung"
        return result[0]

    return answer


@pytest.mark.parametrize("route", ["/Message", "/Messages"])
def test_a_key_in_progress_is_409_until_its_request_ends(
    make_app: Callable[..., OpenAPI], amqp_proxy: AmqpProxy, amqp_url: str, names: Names, route: str
) -> None:
    """While the first request waits for its confirm, a retry is told to come back in a second."""
    client = make_app(amqp_url=amqp_proxy.url, broker_timeout=15.0).test_client()
    key = new_key()
    send = post if route == "/Message" else post_batch
    body: Any = 1 if route == "/Message" else [1]
    with amqp_proxy.confirms_held():
        first = in_thread(lambda: send(client, body, key))
        wait_until(amqp_proxy.held.is_set, HANG, "the first publish's confirm")
        busy = send(client, body, key)
        problem = assert_problem(busy, 409, "idempotency-key-in-use")
        assert busy.headers["Retry-After"] == "1"
        if route == "/Messages":
            assert problem["index"] == 0
    assert first().status_code == 200
    assert send(client, body, key).headers[REPLAYED] == "true"
    assert queue_depth(amqp_url, names.queue) == 1


def test_after_a_504_a_retry_publishes_under_the_same_message_id(
    make_app: Callable[..., OpenAPI], amqp_proxy: AmqpProxy, amqp_url: str, names: Names
) -> None:
    """The connection drops after the broker stored the message, before its confirm arrives: 504
    naming the message_id. The retry publishes it again under that id and gets 200; the queue holds
    the message twice, both copies under the one id, never under two."""
    client = make_app(amqp_url=amqp_proxy.url).test_client()
    key = new_key()
    amqp_proxy.drop_next_confirm()
    unknown = assert_problem(post(client, {"order": 1}, key), 504, "outcome-unknown")
    assert amqp_proxy.dropped.is_set()
    amqp_proxy.disarm()
    retry = post(client, {"order": 1}, key)
    assert retry.status_code == 200, retry.get_json()
    assert REPLAYED not in retry.headers
    assert retry.get_json()["message_id"] == unknown["message_id"]
    assert post(client, {"order": 1}, key).headers[REPLAYED] == "true"
    assert message_ids(amqp_url, names.queue) == [unknown["message_id"]] * 2


def test_after_a_504_a_batch_retry_publishes_each_message_under_its_id(
    make_app: Callable[..., OpenAPI], amqp_proxy: AmqpProxy, amqp_url: str, names: Names
) -> None:
    """The same for a batch: the messages not confirmed go again under their first ids."""
    client = make_app(amqp_url=amqp_proxy.url).test_client()
    key = new_key()
    bodies = [{"order": number} for number in range(3)]
    amqp_proxy.drop_next_confirm()
    first = post_batch(client, bodies, key)
    assert first.status_code == 207, first.get_json()
    first_results = first.get_json()["results"]
    assert 504 in {result["status"] for result in first_results}
    amqp_proxy.disarm()
    retry = post_batch(client, bodies, key)
    assert retry.status_code == 200, retry.get_json()
    retry_results = retry.get_json()["results"]
    assert [result["message_id"] for result in retry_results] == [r["message_id"] for r in first_results]
    for before, after in zip(first_results, retry_results, strict=True):
        assert after.get("replayed", False) == (before["status"] == 200)
    copies = Counter(message_ids(amqp_url, names.queue))
    assert set(copies) == {result["message_id"] for result in first_results}
    assert all(count <= 2 for count in copies.values())


@pytest.mark.parametrize(
    "retried",
    [
        [{"order": 0}, {"order": 9}, {"order": 2}],
        [{"order": 0}, {"order": 1}],
        [{"order": 0}, {"order": 1}, 2, 3],
    ],
    ids=["an element differs", "shorter", "longer"],
)
def test_a_batch_reused_for_other_messages_is_409_whole(
    client: FlaskClient, amqp_url: str, names: Names, retried: list[Any]
) -> None:
    """One element differs, or the batch's length does: the whole request is refused, naming an
    element, and nothing of it is published."""
    key = new_key()
    assert post_batch(client, [{"order": 0}, {"order": 1}, {"order": 2}], key).status_code == 200
    problem = assert_problem(post_batch(client, retried, key), 409, "idempotency-key-reused")
    assert problem["index"] == (1 if len(retried) == 3 else 0)
    assert queue_depth(amqp_url, names.queue) == 3


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MONTY_IDEMPOTENCY_WINDOW", "299"), ("MONTY_IDEMPOTENCY_URL", "no store here")],
)
def test_the_window_and_the_store_are_checked_at_start(variable: str, value: str) -> None:
    """A window under five minutes, or a store URL that names nothing, stops the service at start."""
    result = run_to_exit(EXCHANGE_SCRIPT, {variable: value})
    assert result.returncode == 2
    assert f"invalid setting {variable}" in result.stderr
