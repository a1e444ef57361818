"""SIGTERM to a gateway as docker and Kubernetes send it: /readyz says draining while requests are still
served, then new connections are refused (never left hanging), long polls are answered with what they
have, requests in flight finish, and the whole process group exits within its bound; nothing answered
2xx is lost."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monty_common.serving import exit_bound
from monty_common.settings import BrokerSettings
from support.broker_admin import admin_channel, message_ids
from support.drain import (
    InBackground,
    Outcome,
    group_exited,
    new_connection,
    one_request,
    request,
)
from support.names import Names
from support.polling import wait_until
from support.processes import ServiceProcess, start_service
from support.tally import tally
from support.tokens import TestKeys

DRAIN_SECONDS = 2.0
BODY_TIMEOUT = 10.0
# The settings every test's gateway runs with; the bound it must exit within follows from them.
SETTINGS = {
    "MONTY_DRAIN_SECONDS": str(DRAIN_SECONDS),
    "MONTY_BODY_TIMEOUT": str(BODY_TIMEOUT),
    "MONTY_WORKERS": "2",
    "MONTY_THREADS": "8",
}
BOUND = exit_bound(BrokerSettings.model_construct(drain_seconds=DRAIN_SECONDS, body_timeout=BODY_TIMEOUT))
# Room for a busy machine on top of the bound.
SLACK = 5.0


@pytest.fixture
def gateway(live_exchange_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    """An exchange instance as deployed (two server processes), in a process group of its own."""
    server = start_service(
        "Microservices/ExchangeMicroservice/app.py",
        live_exchange_env | SETTINGS,
        tmp_path / "exchange.log",
        own_group=True,
    )
    try:
        server.wait_healthy()
        yield server
    finally:
        if server.running:
            server.kill_group()


@pytest.fixture
def bearer(test_keys: TestKeys) -> dict[str, str]:
    """An admin's Authorization header (may publish, consume and lease)."""
    return {"Authorization": f"Bearer {test_keys.token('admin-user', ['admin'])}"}


def publish(port: int, bearer: dict[str, str], number: int) -> Outcome:
    """POST /Message {"n": number} on a fresh connection."""
    headers = {**bearer, "Content-Type": "application/json"}
    return one_request(port, "POST", "/Message", headers, json.dumps({"n": number}).encode())


def exits_within_bound(gateway: ServiceProcess, since: float) -> float:
    """Wait for the master and its workers to exit; the seconds from `since` (its SIGTERM)."""
    wait_until(lambda: not gateway.running, BOUND + SLACK, "the gateway to exit after SIGTERM", 0.05)
    took = time.monotonic() - since
    wait_until(lambda: group_exited(gateway.pid), 5, "every server process to exit")
    assert gateway.exit_code == 0, gateway.output()[-3000:]
    assert took <= BOUND + SLACK
    return took


def wait_for_draining(port: int) -> Outcome:
    """Ask /readyz until it answers 503 (the server processes get the master's SIGTERM a moment after
    it); each ask answered at once. Its last answer."""
    asked: list[Outcome] = []

    def draining() -> bool:
        asked.append(one_request(port, "GET", "/readyz"))
        assert asked[-1].status in (200, 503), asked[-1]
        return asked[-1].status == 503

    wait_until(draining, SLACK, "/readyz to say the server is draining")
    return asked[-1]


def consumers(amqp_url: str, queue: str) -> int:
    """Consumers of `queue` on the broker."""
    with admin_channel(amqp_url) as channel:
        count: int = channel.queue_declare(queue, passive=True).method.consumer_count
        return count


def test_after_sigterm_requests_are_served_then_refused_never_left_hanging(
    gateway: ServiceProcess, bearer: dict[str, str], amqp_url: str, names: Names
) -> None:
    """While a slow upload is in flight: right after SIGTERM /readyz is 503 (draining) and a publish on
    a new connection is served with Connection: close; after the drain a new connection is refused at
    once; the upload then finishes and is answered, and the server exits."""
    port = gateway.port or 0
    body = json.dumps({"slow": "upload"}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as upload:
        upload.sendall(
            b"POST /Message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Authorization: {bearer['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[:5]
        )
        time.sleep(0.2)  # the server has read the head
        gateway.terminate()
        stopped_at = time.monotonic()

        ready = wait_for_draining(port)
        assert ready.headers["content-type"] == "application/problem+json"
        assert ready.json()["checks"] == {"server": "draining"}
        published = publish(port, bearer, 1)
        assert published.status == 200, published
        assert published.headers["connection"] == "close"

        def refused() -> bool:
            outcome = one_request(port, "GET", "/healthz")
            assert outcome.refused or outcome.status == 200, outcome  # answered or refused, never hanging
            return outcome.refused

        wait_until(refused, DRAIN_SECONDS + SLACK, "new connections to be refused after the drain", 0.05)
        assert time.monotonic() - stopped_at >= DRAIN_SECONDS
        assert gateway.running  # the upload still holds it

        upload.sendall(body[5:])
        answer = upload.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:500]
    uploaded = json.loads(answer.split(b"\r\n\r\n", 1)[1])["message_id"]
    exits_within_bound(gateway, stopped_at)
    assert sorted(message_ids(amqp_url, names.queue)) == sorted([published.json()["message_id"], uploaded])


def test_long_polls_at_sigterm_are_answered_and_nothing_taken_is_lost(
    gateway: ServiceProcess, bearer: dict[str, str], amqp_url: str, names: Names
) -> None:
    """GET /Consume, GET /Consume/batch and POST /receive waiting 20 s at SIGTERM are answered at the end
    of the drain (not reset, not held to their 20 s); a message published during the drain is in one of
    their answers or back in the queue."""
    port = gateway.port or 0
    assert one_request(port, "GET", "/Consume", bearer).status in (200, 204)  # declares the queue
    polls = {
        "consume": InBackground(lambda: one_request(port, "GET", "/Consume?wait=20", bearer)),
        "batch": InBackground(lambda: one_request(port, "GET", "/Consume/batch?max=5&wait=20", bearer)),
        "receive": InBackground(
            lambda: one_request(port, "POST", f"/Queues/{names.queue}/receive?wait=20&visibility=300", bearer)
        ),
    }

    def waiting() -> bool:
        answered = {name: poll.done for name, poll in polls.items() if poll.done is not None}
        assert not answered, answered  # none is answered before a message comes
        # The receive waits on a consumer of its own; the takes of one server process share one.
        return consumers(amqp_url, names.queue) >= 2

    wait_until(waiting, 20, "the long polls to wait")
    gateway.terminate()
    stopped_at = time.monotonic()
    published = publish(port, bearer, 1)
    assert published.status == 200, published
    message_id = published.json()["message_id"]

    answered: list[str] = []
    for name, poll in polls.items():
        outcome = poll.outcome(BOUND + SLACK)
        assert outcome.status == 200, (name, outcome)
        # Answered when the drain ended (or when the message came), long before its 20 s.
        assert time.monotonic() - stopped_at < 20 - SLACK
        if name == "consume" and outcome.headers.get("monty-queue-empty") == "false":
            answered.append(message_id)  # the body is the message itself
        elif name != "consume":
            answered += [message["message_id"] for message in outcome.json()["messages"] if name == "batch"]
    exits_within_bound(gateway, stopped_at)
    # A lease's message goes back to the queue with its holder's connection.
    found = answered + [found for found in message_ids(amqp_url, names.queue) if found is not None]
    assert found == [message_id]


def test_leases_held_at_sigterm_come_back_to_the_queue(
    gateway: ServiceProcess, bearer: dict[str, str], amqp_url: str, names: Names
) -> None:
    """Messages leased for 300 s when the gateway is stopped are in the queue again once it has exited."""
    port = gateway.port or 0
    sent = []
    for number in range(5):
        published = publish(port, bearer, number)
        assert published.status == 200, published
        sent.append(published.json()["message_id"])
    leased: list[str] = []
    while len(leased) < len(sent):
        answer = one_request(port, "POST", f"/Queues/{names.queue}/receive?max=5&visibility=300", bearer)
        assert answer.status == 200, answer
        leased += [message["message_id"] for message in answer.json()["messages"]]
    gateway.terminate()
    exits_within_bound(gateway, time.monotonic())
    assert sorted(found for found in message_ids(amqp_url, names.queue) if found is not None) == sorted(sent)


class PublishLoad:
    """Threads publishing until the gateway refuses their connections: half open a connection per
    request, half keep theirs alive (reconnecting when an answer says Connection: close)."""

    def __init__(self, port: int, bearer: dict[str, str], threads: int = 4) -> None:
        """Start publishing."""
        self.port = port
        self.headers = {**bearer, "Content-Type": "application/json"}
        self.lock = threading.Lock()
        self.sent = 0
        self.answered: list[str] = []
        # (seconds since the load began, status) of each answer, to line up with /readyz.
        self.answers: list[tuple[float, int]] = []
        self.failures: list[str] = []
        self.began = time.monotonic()
        self.threads = [
            threading.Thread(target=self._publish, args=(number % 2 == 1,), daemon=True)
            for number in range(threads)
        ]
        for thread in self.threads:
            thread.start()

    def _publish(self, keep_alive: bool) -> None:
        """Publish until refused (or failed)."""
        connection = new_connection(self.port)
        while True:
            if not keep_alive:
                connection.close()
            with self.lock:
                self.sent += 1
                number = self.sent
            outcome = request(
                connection, "POST", "/Message", self.headers, json.dumps({"n": number}).encode()
            )
            with self.lock:
                if outcome.refused:
                    self.sent -= 1  # never sent: a client retries it elsewhere
                    return
                if outcome.status is not None:
                    self.answers.append((time.monotonic() - self.began, outcome.status))
                if outcome.status == 200:
                    self.answered.append(outcome.json()["message_id"])
                else:
                    self.failures.append(outcome.failure or f"{outcome.status}: {outcome.body[:300]!r}")
                    return

    def join(self, timeout: float) -> None:
        """Wait for every thread to end."""
        for thread in self.threads:
            thread.join(timeout)
            assert not thread.is_alive(), "a publisher is still waiting for an answer"


@pytest.mark.slow
def test_sigterm_under_publish_load_loses_nothing_and_leaves_no_request_hanging(
    gateway: ServiceProcess, bearer: dict[str, str], amqp_url: str, names: Names
) -> None:
    """Four publishers (fresh and kept-alive connections) hammer a gateway that gets SIGTERM: every
    request is answered 2xx or its connection refused before it was sent; /readyz turns 503 while
    publishes are still answered; every answered message is in the queue, once."""
    port = gateway.port or 0
    first = publish(port, bearer, 0)  # declares the queue
    assert first.status == 200, first
    load = PublishLoad(port, bearer)
    time.sleep(1.0)
    gateway.terminate()
    stopped_at = time.monotonic()
    readiness: list[tuple[float, int | None]] = []
    while True:
        ready = one_request(port, "GET", "/readyz")
        assert ready.refused or ready.status is not None, ready
        readiness.append((time.monotonic() - load.began, ready.status))
        if ready.refused:
            break
        time.sleep(0.05)
    load.join(BOUND + SLACK)
    exits_within_bound(gateway, stopped_at)

    found = [found for found in message_ids(amqp_url, names.queue) if found != first.json()["message_id"]]
    counts = tally("SIGTERM under publish load", load.sent, load.answered, found)
    assert load.failures == []
    assert counts.lost == counts.duplicated == 0
    first_draining = min(at for at, status in readiness if status == 503)
    # The master passes SIGTERM on to its server processes a moment later: ready until then, then 503
    # from each (either may answer), until refused.
    assert all(status in (200, 503, None) for _at, status in readiness)
    assert all(status in (503, None) for at, status in readiness if at > first_draining + 1.0)
    assert any(at > first_draining and status == 200 for at, status in load.answers)
    assert set(load.answered) <= set(found)
    assert len(found) == len(set(found))
    assert len(found) == len(load.answered)
