"""Batch answers are bounded in bytes as well as in count, and so is the exchange's memory under
concurrent worst-case batch consumes and batch publishes (1 MiB messages)."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from support.broker_admin import publish_json, queue_depth
from support.memory import peak_rss_bytes, worker_pids
from support.names import Names
from support.processes import ServiceProcess, start_service
from support.tokens import TestKeys

BODY = b'"' + b"x" * (1024 * 1024 - 2) + b'"'  # the largest message the exchange takes (1 MiB)
BATCH_BYTES = 4 * 1024 * 1024
BUFFER_BYTES = 32 * 1024 * 1024
THREADS = 4
CONCURRENT = 8
QUEUED = 120
# The bound README states: above its idle peak, an exchange process stays within
# 3 x MONTY_REQUEST_BUFFER_BYTES + MONTY_THREADS x 3 x MONTY_MAX_CONSUME_BATCH_BYTES.
BOUND = 3 * BUFFER_BYTES + THREADS * 3 * BATCH_BYTES


@pytest.fixture
def exchange(live_exchange_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    """The exchange under gunicorn, with small budgets so the test moves little data."""
    settings = {
        **live_exchange_env,
        "MONTY_THREADS": str(THREADS),
        "MONTY_MAX_CONSUME_BATCH_BYTES": str(BATCH_BYTES),
        "MONTY_REQUEST_BUFFER_BYTES": str(BUFFER_BYTES),
    }
    server = start_service("Microservices/ExchangeMicroservice/app.py", settings, tmp_path / "exchange.log")
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


def consume_batch(server: ServiceProcess, headers: dict[str, str]) -> dict[str, object]:
    """GET /Consume/batch?max=100, read to its end."""
    answer = requests.get(server.url + "/Consume/batch", params={"max": "100"}, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    batch: dict[str, object] = answer.json()
    return batch


def test_a_batch_stops_once_its_bodies_pass_the_budget(
    exchange: ServiceProcess, amqp_url: str, names: Names, test_keys: TestKeys
) -> None:
    """The message that passes MONTY_MAX_CONSUME_BATCH_BYTES is the batch's last; the rest stays queued."""
    headers = test_keys.bearer("reader", ["consumer"])
    consume_batch(exchange, headers)  # declares the queue
    publish_json(amqp_url, "", names.queue, [BODY] * 10)
    batch = consume_batch(exchange, headers)
    assert batch["count"] == BATCH_BYTES // len(BODY)
    assert batch["byte_limited"] is True
    assert queue_depth(amqp_url, names.queue) == 10 - BATCH_BYTES // len(BODY)


def test_concurrent_worst_case_batches_keep_the_exchange_within_its_bound(
    exchange: ServiceProcess, amqp_url: str, names: Names, test_keys: TestKeys
) -> None:
    """CONCURRENT batch consumes of max=100 and as many 16 MiB batch publishes at once: the worker's
    peak RSS grows less than BOUND."""
    consumer = test_keys.bearer("reader", ["consumer"])
    producer = {**test_keys.bearer("writer", ["producer"]), "Content-Type": "application/json"}
    consume_batch(exchange, consumer)  # warms the process up and declares the queue
    publish_json(amqp_url, "", names.queue, [BODY] * QUEUED)
    batch = b"[" + b",".join([BODY[:-100] + b'"'] * 16) + b"]"  # just under 16 MiB, the largest batch

    def publish(_number: int) -> int:
        answer = requests.post(exchange.url + "/Messages", data=batch, headers=producer, timeout=120)
        return answer.status_code

    (worker,) = worker_pids(exchange.pid)
    idle_peak = peak_rss_bytes(worker)
    with ThreadPoolExecutor(2 * CONCURRENT) as pool:
        published = pool.map(publish, range(CONCURRENT))
        consumed = pool.map(lambda _n: consume_batch(exchange, consumer), range(CONCURRENT))
        assert set(published) == {200}
        assert sum(int(str(batch["count"])) for batch in consumed) > 0
    grown = peak_rss_bytes(worker) - idle_peak
    assert grown < BOUND, f"peak RSS grew by {grown >> 20} MiB, over the bound of {BOUND >> 20} MiB"
