"""GET /metrics on every service, its counters moved by real traffic across gunicorn workers."""

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from support.identity import Identity
from support.leases import LeaseClient, assert_all_settled
from support.metrics import Samples, scrape, value
from support.paths import REPO_ROOT
from support.polling import wait_until
from support.ports import free_port
from support.processes import start_service
from support.stack import Stack, running_stack

SERVICES = ["exchange", "users", "auth", "archive"]
AUTH_APP = "Microservices/AuthMicroservice/app.py"


@pytest.fixture(scope="module")
def stack(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every service and the archive worker, the exchange with two server processes (as deployed)."""
    exchange = {"MONTY_WORKERS": "2", "MONTY_THREADS": "8"}
    with running_stack(
        amqp_url,
        tmp_path_factory.mktemp("metrics-stack"),
        exchanges={"exchange": exchange},
        archive_worker=True,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def token(stack: Stack) -> str:
    """The first admin's token."""
    return stack.token()


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_serves_metrics_without_a_token(stack: Stack, service: str) -> None:
    """The text format, unauthenticated, counting the service's own requests by route template."""
    origin = stack.services[service].url
    requests.get(origin + "/healthz", timeout=10)
    samples = scrape(origin + "/metrics")
    assert value(samples, "monty_http_requests_total", route="/healthz", method="GET", status="200") >= 1
    assert value(samples, "monty_http_request_duration_seconds_count", route="/healthz") >= 1
    document = requests.get(origin + "/openapi/openapi.json", timeout=10).json()
    assert "text/plain" in document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]


def test_refusals_are_counted_by_status_across_both_workers(stack: Stack) -> None:
    """Every 401, whichever server process answered it, is in the sum one scrape shows."""
    origin = stack.services["exchange"].url
    before = value(scrape(origin + "/metrics"), "monty_http_requests_total", route="/Message", status="401")
    count = 40  # on new connections: the two processes share them
    for _ in range(count):
        assert requests.post(origin + "/Message", json={}, timeout=10).status_code == 401
    after = value(scrape(origin + "/metrics"), "monty_http_requests_total", route="/Message", status="401")
    assert after - before == count


def test_unknown_paths_are_one_series(stack: Stack) -> None:
    """Paths no route matches share the route "unmatched": no series per path."""
    origin = stack.services["exchange"].url
    for number in range(3):
        requests.get(f"{origin}/no-such-{uuid.uuid4().hex}-{number}", timeout=10)
    samples = scrape(origin + "/metrics")
    assert value(samples, "monty_http_requests_total", route="unmatched", status="404") >= 3
    assert not any("no-such" in str(labels) for _name, labels in samples)


def test_unknown_methods_are_one_series(stack: Stack) -> None:
    """Methods a client makes up share the method "other": no series per method."""
    origin = stack.services["exchange"].url
    made_up = [f"X{uuid.uuid4().hex[:8].upper()}" for _ in range(3)]
    for method in made_up:
        assert requests.request(method, origin + "/Message", timeout=10).status_code in (401, 405)
    samples = scrape(origin + "/metrics")
    assert value(samples, "monty_http_requests_total", method="other") >= 3
    assert not any(method in str(labels) for method in made_up for _name, labels in samples)


def test_a_publish_moves_the_confirmed_counter(stack: Stack, token: str) -> None:
    """Each confirmed message counts once, as does each message consumed."""
    origin = stack.services["exchange"].url
    headers = {"Authorization": f"Bearer {token}"}
    before = scrape(origin + "/metrics")
    for number in range(6):
        answer = requests.post(origin + "/Message", json={"n": number}, headers=headers, timeout=10)
        assert answer.status_code in (200, 201), answer.text
    taken = requests.get(origin + "/Consume/batch?max=100", headers=headers, timeout=10).json()["count"]
    after = scrape(origin + "/metrics")
    confirmed = "monty_messages_published_total"
    assert value(after, confirmed, outcome="confirmed") - value(before, confirmed, outcome="confirmed") == 6
    consumed = "monty_messages_consumed_total"
    assert value(after, consumed, kind="batch") - value(before, consumed, kind="batch") == taken >= 6
    assert value(after, "monty_token_verifications_total", outcome="valid") > value(
        before, "monty_token_verifications_total", outcome="valid"
    )
    assert value(after, "monty_broker_link_up", link="publisher") == 1


def test_a_throttled_login_moves_the_throttle_counter(stack: Stack) -> None:
    """Failed logins count as failed; once refused, as throttled."""
    origin = stack.services["auth"].url
    identity = Identity(stack.services["users"], stack.services["auth"], stack.secret)
    username = f"nobody-{uuid.uuid4().hex[:8]}"
    before = scrape(origin + "/metrics")
    statuses = [identity.login(username, "wrong password, long enough").status_code for _ in range(8)]
    assert statuses[0] == 401, statuses
    assert statuses[-1] == 429, statuses
    after = scrape(origin + "/metrics")
    for outcome, status in (("failed", 401), ("throttled", 429)):
        moved = value(after, "monty_logins_total", outcome=outcome) - value(
            before, "monty_logins_total", outcome=outcome
        )
        assert moved == statuses.count(status), outcome


def test_a_long_poll_is_counted_while_it_waits(stack: Stack, token: str) -> None:
    """The gauge shows a waiting consume (in either process) and drops once it is answered."""
    origin = stack.services["exchange"].url
    headers = {"Authorization": f"Bearer {token}"}
    requests.get(origin + "/Consume/batch?max=100", headers=headers, timeout=10)  # empty the queue
    answers: list[requests.Response] = []
    waiter = threading.Thread(
        target=lambda: answers.append(requests.get(origin + "/Consume?wait=15", headers=headers, timeout=30))
    )
    waiter.start()
    try:
        wait_until(
            lambda: value(scrape(origin + "/metrics"), "monty_long_polls_waiting") == 1,
            10,
            "the long poll to be counted",
            0.1,
        )
    finally:
        requests.post(origin + "/Message", json={"wake": True}, headers=headers, timeout=10)
        waiter.join(30)
    assert answers
    assert answers[0].status_code == 200
    assert value(scrape(origin + "/metrics"), "monty_long_polls_waiting") == 0


def test_the_archive_reports_its_rows_and_queue(stack: Stack, token: str) -> None:
    """The archive API reads the rows stored and its queue's depth at scrape time; the lag is the
    workers' (tests/archive/test_worker_metrics.py), no longer the API's."""
    metrics = stack.services["archive"].url + "/metrics"
    rows = "monty_archive_rows_written_total"
    before = value(scrape(metrics), rows)
    headers = {"Authorization": f"Bearer {token}"}
    requests.post(
        stack.services["exchange"].url + "/Message", json={"archived": True}, headers=headers, timeout=10
    )
    wait_until(lambda: value(scrape(metrics), rows) > before, 30, "the archived row to be counted", 0.2)
    samples = scrape(metrics)
    assert ("monty_archive_queue_depth", frozenset()) in samples
    assert not {name for name, _labels in samples if name.startswith("monty_archive_lag")}


def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    """MONTY_METRICS=false: /metrics is 404."""
    auth = start_service(
        AUTH_APP,
        {"MONTY_DATA_DIR": str(tmp_path / "auth"), "MONTY_METRICS": "false"},
        tmp_path / "auth.log",
    )
    try:
        auth.wait_healthy()
        assert requests.get(auth.url + "/metrics", timeout=10).status_code == 404
    finally:
        auth.stop()


def test_metrics_can_move_to_a_port_of_their_own(tmp_path: Path) -> None:
    """MONTY_METRICS_PORT: served there, counting the service's requests; 404 on the service's port."""
    port = free_port()
    auth = start_service(
        AUTH_APP,
        {"MONTY_DATA_DIR": str(tmp_path / "auth"), "MONTY_METRICS_PORT": str(port)},
        tmp_path / "auth.log",
    )
    try:
        auth.wait_healthy()
        assert requests.get(auth.url + "/metrics", timeout=10).status_code == 404
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
        assert value(samples, "monty_http_requests_total", route="/healthz", status="200") >= 1
        assert value(samples, "monty_http_requests_total", route="unmatched", status="404") >= 1
    finally:
        auth.stop()


def test_the_readme_documents_every_metric(stack: Stack) -> None:
    """Each monty_ family any service serves has its row in the README's metrics table."""
    readme = (REPO_ROOT / "README.md").read_text()
    for service in SERVICES:
        for name, _labels in scrape(stack.services[service].url + "/metrics"):
            family = name.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
            if family.startswith("monty_") and not family.endswith("_created"):
                assert f"| `{family}` |" in readme, family


def test_leases_are_counted_by_outcome(stack: Stack, token: str) -> None:
    """A batch publish, a receive under lease, an ack and an expiry each move their series."""
    origin = stack.services["exchange"].url
    headers = {"Authorization": f"Bearer {token}"}
    requests.get(origin + "/Consume/batch?max=100", headers=headers, timeout=10)  # empty the queue
    client = LeaseClient(origin, stack.names.queue, headers)
    before = scrape(origin + "/metrics")
    client.publish([{"lease": 1}, {"lease": 2}])
    held = client.receive(limit=2, visibility=1)
    assert len(held) == 2
    assert_all_settled(client.ack([held[0]["receipt"]]))

    def moved(samples: Samples, name: str, **labels: str) -> float:
        return value(samples, name, **labels) - value(before, name, **labels)

    wait_until(
        lambda: moved(scrape(origin + "/metrics"), "monty_leases_total", outcome="expired") == 1,
        15,
        "the unacked lease's expiry to be counted",
        0.2,
    )
    after = scrape(origin + "/metrics")
    assert moved(after, "monty_messages_published_total", outcome="confirmed") == 2
    assert moved(after, "monty_messages_consumed_total", kind="lease") == 2
    assert moved(after, "monty_leases_total", outcome="acked") == 1
