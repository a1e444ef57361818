"""Clients that send a request slowly, or half of one, take no service down: 200 such sockets on each
service, and every service still answers at once; the server closes them after its timeouts."""

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from support.identity import ADMIN, ADMIN_PASSWORD
from support.polling import wait_until
from support.stack import Stack, running_stack

HALF_HEADERS = 200
SLOW_BODIES = 20
# What a client waits for an answer: the requirement, not a speed figure.
ANSWER_WITHIN = 1.0
HEADER_TIMEOUT = 2
BODY_TIMEOUT = 3


@pytest.fixture(scope="module")
def stack(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every service, with short read timeouts so the test does not wait long for the server to act."""
    data: Path = tmp_path_factory.mktemp("slow-clients")
    timeouts = {"MONTY_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "MONTY_BODY_TIMEOUT": str(BODY_TIMEOUT)}
    with running_stack(amqp_url, data, common_env=timeouts) as running:
        yield running


def open_slow_clients(port: int, sockets: ExitStack) -> list[socket.socket]:
    """HALF_HEADERS sockets that sent half a head, and SLOW_BODIES that sent a head and a bit of a body."""
    opened = []
    for number in range(HALF_HEADERS + SLOW_BODIES):
        client = sockets.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
        if number < HALF_HEADERS:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        else:
            client.sendall(
                b"POST /auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b'Content-Length: 4096\r\n\r\n{"username": '
            )
        opened.append(client)
    return opened


def closed_by_server(client: socket.socket) -> bool:
    """Whether the server has answered and closed the socket (what it answered is read and dropped)."""
    client.setblocking(False)
    try:
        while chunk := client.recv(65536):
            del chunk
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def test_slow_clients_leave_every_service_answering(stack: Stack) -> None:
    """With 220 slow sockets on every service at once, each service answers normal requests, the
    archive included (it needs the auth service's keys), and the slow sockets are closed in time."""
    services = stack.services
    token = stack.token()
    bearer = {"Authorization": f"Bearer {token}"}
    with ExitStack() as sockets:
        slow = [client for server in services.values() for client in open_slow_clients(server.port, sockets)]
        for name, server in services.items():
            assert requests.get(server.url + "/healthz", timeout=ANSWER_WITHIN).status_code == 200, name
        login = requests.post(
            services["auth"].url + "/auth/token",
            json={"username": ADMIN, "password": ADMIN_PASSWORD},
            timeout=ANSWER_WITHIN,
        )
        assert login.status_code == 200, login.text
        published = requests.post(
            services["exchange"].url + "/Message",
            json={"slow": "clients"},
            headers=bearer,
            timeout=ANSWER_WITHIN,
        )
        assert published.status_code == 200, published.text
        consumed = requests.get(services["exchange"].url + "/Consume", headers=bearer, timeout=ANSWER_WITHIN)
        assert consumed.status_code == 200, consumed.text
        me = requests.get(services["users"].url + "/users/me", headers=bearer, timeout=ANSWER_WITHIN)
        assert me.status_code == 200, me.text
        archived = requests.get(services["archive"].url + "/Messages", headers=bearer, timeout=ANSWER_WITHIN)
        assert archived.status_code == 200, archived.text
        wait_until(
            lambda: all(closed_by_server(client) for client in slow),
            HEADER_TIMEOUT + BODY_TIMEOUT + 10,
            "the servers to close every slow socket",
            0.5,
        )
