"""Idempotency-Keys across gateway instances: two exchange services (two processes each), started as
users start them, share one store (Redis, or PostgreSQL); one key publishes once, whichever gets it."""

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from support.broker_admin import message_ids
from support.names import Names
from support.processes import ServiceProcess, start_service, stop_all
from support.tokens import TestKeys

EXCHANGE_SCRIPT = "Microservices/ExchangeMicroservice/app.py"
REQUESTS = 16


@pytest.fixture(params=["redis", "postgresql"])
def shared_store_url(request: pytest.FixtureRequest, redis_url: str) -> str:
    """A store both instances reach."""
    if request.param == "redis":
        return redis_url
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def two_instances(
    live_exchange_env: dict[str, str], shared_store_url: str, tmp_path: Path
) -> Iterator[list[ServiceProcess]]:
    """Two exchange services of two processes each, on their own data directories, sharing the store."""
    servers = [
        start_service(
            EXCHANGE_SCRIPT,
            {
                **live_exchange_env,
                "MONTY_DATA_DIR": str(tmp_path / f"instance-{number}"),
                "MONTY_WORKERS": "2",
                "MONTY_IDEMPOTENCY_URL": shared_store_url,
            },
            tmp_path / f"instance-{number}.log",
        )
        for number in (1, 2)
    ]
    try:
        for server in servers:
            server.wait_healthy()
        yield servers
    finally:
        stop_all(servers)


def test_one_key_sent_to_both_instances_at_once_publishes_once(
    two_instances: list[ServiceProcess], test_keys: TestKeys, amqp_url: str, names: Names
) -> None:
    """Requests racing on both instances: one publishes, the others are told it is in progress or
    get its answer; afterwards every process of both answers it again."""
    headers = {**test_keys.bearer("racing-producer", ["producer"]), "Idempotency-Key": str(uuid.uuid4())}

    def send(number: int) -> requests.Response:
        url = two_instances[number % 2].url + "/Message"
        return requests.post(url, json={"order": 1}, headers=headers, timeout=30)

    with ThreadPoolExecutor(REQUESTS) as pool:
        answers = list(pool.map(send, range(REQUESTS)))
    assert {answer.status_code for answer in answers} <= {200, 409}, [answer.text for answer in answers]
    published = {answer.json()["message_id"] for answer in answers if answer.status_code == 200}
    assert len(published) == 1
    first = [
        answer
        for answer in answers
        if answer.status_code == 200 and "Idempotent-Replayed" not in answer.headers
    ]
    assert len(first) == 1
    # Several requests per instance, so both processes of each answer.
    for retry in map(send, range(2 * REQUESTS)):
        assert retry.status_code == 200
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json()["message_id"] in published
    assert message_ids(amqp_url, names.queue) == list(published)
