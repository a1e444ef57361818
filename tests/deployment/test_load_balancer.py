"""The shipped haproxy.cfg in front of two live gateways on the machine's broker: requests spread over
both with no stickiness, leases settle through whichever instance the balancer picks, and a gateway
killed with SIGKILL is taken out by the health check while publishes go on and nothing is lost."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from support.broker_admin import admin_channel
from support.gateways import EXCHANGE_APP, client_factory, gateway_settings
from support.haproxy import LoadBalancer, load_balancer, wait_for_status
from support.leases import LeaseClient, assert_all_settled
from support.names import Names
from support.processes import ServiceProcess, start_service, stop_all
from support.tokens import TestKeys

# Publishing threads during the crash: at most this many requests are in flight on the killed gateway.
PUBLISHERS = 2
# Generous bounds on a busy machine; the shipped config takes a server out after ~2 s.
TAKEN_OUT_WITHIN = 15.0
PUBLISH_BEFORE_KILL = 2.0
PUBLISH_AFTER_KILL = 6.0


@pytest.fixture
def gateways(
    amqp_url: str, names: Names, test_keys: TestKeys, tmp_path: Path
) -> Iterator[list[ServiceProcess]]:
    """Two gateway instances of two processes each, each in its own process group (to kill it whole)."""
    settings = gateway_settings(amqp_url, names, test_keys.jwks_url)
    started = [
        start_service(
            EXCHANGE_APP, settings, tmp_path / f"gateway-{i}.log", name=f"gateway-{i}", own_group=True
        )
        for i in range(2)
    ]
    try:
        for gateway in started:
            gateway.wait_healthy()
        yield started
    finally:
        stop_all(started)


@pytest.fixture
def balancer(gateways: list[ServiceProcess], tmp_path: Path) -> Iterator[LoadBalancer]:
    """The shipped config's exchange frontend and backend before both gateways."""
    with load_balancer("exchange", [gateway.port or 0 for gateway in gateways], tmp_path) as running:
        yield running


@pytest.fixture
def producer(test_keys: TestKeys) -> dict[str, str]:
    """A producer's Authorization header."""
    return test_keys.bearer("lb-producer", ["producer"])


@pytest.fixture
def consumer(test_keys: TestKeys) -> dict[str, str]:
    """A consumer's Authorization header."""
    return test_keys.bearer("lb-consumer", ["consumer"])


def publish(base_url: str, headers: dict[str, str], body: Any) -> requests.Response:
    """POST /Message on a connection of its own (as separate clients do)."""
    return requests.post(f"{base_url}/Message", json=body, headers=headers, timeout=30)


def take_message_ids(amqp_url: str, queue: str) -> list[str]:
    """Consume every message `queue` holds (acked) on one channel; their message_ids."""
    ids: list[str] = []
    with admin_channel(amqp_url) as channel:
        while True:
            method, properties, _body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return ids
            ids.append(properties.message_id)


def test_requests_are_spread_over_both_gateways(balancer: LoadBalancer, producer: dict[str, str]) -> None:
    """40 publishes through the balancer: each gateway answers close to half (no stickiness)."""
    before = balancer.answered_2xx()
    for n in range(40):
        answer = publish(balancer.url, producer, {"n": n})
        assert answer.status_code == 200, answer.text
    served = {name: count - before[name] for name, count in balancer.answered_2xx().items()}
    assert sum(served.values()) == 40, served
    assert min(served.values()) >= 15, f"requests not spread over both gateways: {served}"


def test_a_lease_taken_on_one_gateway_is_acked_through_the_balancer(
    balancer: LoadBalancer,
    gateways: list[ServiceProcess],
    producer: dict[str, str],
    consumer: dict[str, str],
    names: Names,
) -> None:
    """20 messages leased directly from gateway 0, each acked through the balancer (so on either
    gateway): every ack settles, both gateways took some, and nothing comes back."""
    published = LeaseClient(balancer.url, names.queue, producer).publish([{"n": n} for n in range(20)])
    direct = client_factory(consumer, names.queue)(gateways[0])
    held = direct.receive(20, visibility=30, wait=2)
    assert sorted(m["message_id"] for m in held) == sorted(published)
    acker = LeaseClient(balancer.url, names.queue, consumer)
    before = balancer.answered_2xx()
    for message in held:
        [result] = assert_all_settled(acker.ack([message["receipt"]]))
        assert result["message_id"] == message["message_id"]
    acks = {name: count - before[name] for name, count in balancer.answered_2xx().items()}
    assert sum(acks.values()) == 20, acks
    assert min(acks.values()) > 0, acks
    assert direct.receive(10, visibility=30) == []


def test_a_killed_gateway_is_taken_out_and_publishes_go_on(
    balancer: LoadBalancer,
    gateways: list[ServiceProcess],
    producer: dict[str, str],
    amqp_url: str,
    names: Names,
) -> None:
    """Two threads publish through the balancer; gateway 1 is SIGKILLed (master and workers) midway.
    HAProxy marks it DOWN by its /readyz check, every publish sent after that answers 2xx, every 2xx
    message is in the queue (lost 0, duplicated 0), and only requests in flight at the kill may fail
    (connections refused meanwhile go to the other gateway)."""
    answers: list[tuple[float, int, str | None]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def publish_until_stopped(thread: int) -> None:
        n = 0
        while not stop.is_set():
            # When the request was sent: one sent after the balancer took the server out must succeed.
            sent_at = time.monotonic()
            try:
                answer = publish(balancer.url, producer, {"thread": thread, "n": n})
            except requests.RequestException:
                outcome: tuple[float, int, str | None] = (sent_at, 0, None)
            else:
                ok = answer.status_code == 200
                outcome = (sent_at, answer.status_code, answer.json()["message_id"] if ok else None)
            with lock:
                answers.append(outcome)
            n += 1

    threads = [threading.Thread(target=publish_until_stopped, args=(i,)) for i in range(PUBLISHERS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(PUBLISH_BEFORE_KILL)
        killed_at = time.monotonic()
        gateways[1].kill_group()
        wait_for_status(balancer, "exchange-1", "DOWN", TAKEN_OUT_WITHIN)
        down_at = time.monotonic()
        time.sleep(PUBLISH_AFTER_KILL)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    answered = [message_id for _, status, message_id in answers if 200 <= status < 300 and message_id]
    # (seconds after the kill it was sent, status) of each request that failed.
    failed = [(round(at - killed_at, 3), status) for at, status, _ in answers if not 200 <= status < 300]
    found = take_message_ids(amqp_url, names.queue)
    lost = set(answered) - set(found)
    duplicated = len(found) - len(set(found))
    print(
        f"sent {len(answers)} / answered 2xx {len(answered)} / found {len(found)} / lost {len(lost)} / "
        f"duplicated {duplicated}; taken out {down_at - killed_at:.1f} s after the kill; failed {failed}"
    )
    assert not lost
    assert duplicated == 0
    # Found but not answered 2xx: only those whose answer the kill cut off.
    assert len(set(found) - set(answered)) <= PUBLISHERS
    assert len(failed) <= PUBLISHERS, failed
    after_down = [status for sent_at, status, _ in answers if sent_at > down_at]
    assert len(after_down) > 10, after_down
    assert all(status == 200 for status in after_down), after_down
