"""The shipped haproxy.cfg answers /metrics 404 on every service's frontend, however the path is
spelt, while the service behind it serves it directly and its API passes through the balancer."""

import http.client
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from support.haproxy import load_balancer
from support.stack import Stack, running_stack

# Paths each service answers with its metrics (it decodes the path and merges leading slashes).
METRICS_PATHS = ["/metrics", "/metrics?name=x", "//metrics", "/%6Detrics", "/%2Fmetrics", "///%6detrics"]


@pytest.fixture(scope="module")
def stack(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every HTTP service, live, and the archive worker (the archive API is ready once its queue is)."""
    with running_stack(amqp_url, tmp_path_factory.mktemp("balanced-stack"), archive_worker=True) as running:
        yield running


@pytest.fixture(scope="module")
def token(stack: Stack) -> dict[str, str]:
    """The first admin's Authorization header."""
    return {"Authorization": f"Bearer {stack.token()}"}


def get_as_sent(origin: str, path: str) -> tuple[int, str, str]:
    """GET `path` on `origin`, its bytes sent as written (no client normalizes or decodes them):
    the status, the Content-Type and the body."""
    address = urlsplit(origin)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type", ""), answer.read().decode()
    finally:
        connection.close()


def api_call(service: str, stack: Stack, token: dict[str, str]) -> Callable[[str], requests.Response]:
    """A call of `service`'s API, made to the origin given."""
    username, password = stack.admin
    calls: dict[str, Callable[[str], requests.Response]] = {
        "exchange": lambda origin: requests.post(
            origin + "/Message", json={"through": "balancer"}, headers=token, timeout=10
        ),
        "users": lambda origin: requests.get(origin + "/users/me", headers=token, timeout=10),
        "auth": lambda origin: requests.post(
            origin + "/auth/token", json={"username": username, "password": password}, timeout=10
        ),
        "archive": lambda origin: requests.get(origin + "/Messages", headers=token, timeout=10),
    }
    return calls[service]


@pytest.mark.parametrize("service", ["exchange", "users", "auth", "archive"])
def test_the_balancer_refuses_metrics_and_passes_the_api(
    stack: Stack, token: dict[str, str], service: str, tmp_path: Path
) -> None:
    """Through the service's frontend: every spelling of /metrics is a problem+json 404 (the same
    paths straight to the service are its metrics), and an API call and /healthz are answered 200."""
    direct = stack.services[service]
    with load_balancer(service, [direct.port or 0], tmp_path) as balancer:
        for path in METRICS_PATHS:
            status, _type, body = get_as_sent(direct.url, path)
            assert status == 200, path
            assert "monty_http_requests_total" in body, path
            status, content_type, body = get_as_sent(balancer.url, path)
            assert (status, content_type) == (404, "application/problem+json"), path
            assert "monty_" not in body, path
        answer = api_call(service, stack, token)(balancer.url)
        assert answer.status_code == 200, answer.text
        assert requests.get(balancer.url + "/healthz", timeout=10).status_code == 200
