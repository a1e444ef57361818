"""MONTY_AMQP_URLS: a gateway skips an address that does not answer, and fails over to another node
when the one it is connected to goes away, losing no acknowledged message."""

import time
from collections.abc import Callable, Iterator

import pytest
from flask_openapi3.openapi import OpenAPI

from monty_common.broker import dead_letter_queue_of
from support.broker_admin import delete_topology, message_ids
from support.names import Names, unique_names
from support.ports import free_port
from support.processes import run_to_exit
from support.rabbit_node import RabbitNode
from support.tally import tally

EXCHANGE_APP = "Microservices/ExchangeMicroservice/app.py"
# Far longer than a failover takes (a refused connection, then the next address): a bound, not a speed.
FAILOVER_BOUND = 20.0


def dead_address() -> str:
    """An AMQP URL on a loopback port nothing listens on."""
    return f"amqp://guest:secret@127.0.0.1:{free_port()}/"


@pytest.fixture(scope="module")
def second_node() -> Iterator[RabbitNode]:
    """A second RabbitMQ node of the tests' own (not clustered with the first)."""
    node = RabbitNode()
    node.start()
    yield node
    node.remove()


@pytest.mark.parametrize("order", ["dead first", "dead last"])
def test_a_gateway_given_a_dead_address_and_the_broker_works(
    make_app: Callable[..., OpenAPI], amqp_url: str, order: str
) -> None:
    """Whichever address its shuffle tries first, every publish is stored and consumed."""
    urls = [dead_address(), amqp_url] if order == "dead first" else [amqp_url, dead_address()]
    client = make_app(amqp_urls=",".join(urls), broker_timeout=4.0).test_client()
    for n in range(5):
        assert client.post("/Message", json={"n": n}).status_code == 200
    assert [client.get("/Consume").get_json() for _ in range(5)] == [{"n": n} for n in range(5)]


def test_the_preflight_reports_the_address_that_does_not_answer_and_starts(
    live_exchange_env: dict[str, str], amqp_url: str
) -> None:
    """A dead address among MONTY_AMQP_URLS is named (without its password) and the start goes on
    (here to a setting checked later, so that the service stops right after the broker check)."""
    dead = dead_address()
    env = live_exchange_env | {"MONTY_AMQP_URLS": f"{dead},{amqp_url}", "MONTY_DATA_DIR": "/proc/forbidden"}
    result = run_to_exit(EXCHANGE_APP, env)
    assert "does not answer" in result.stderr, result.stderr
    assert dead.replace("secret", "***") in result.stderr
    assert "secret" not in result.stderr
    assert "cannot reach RabbitMQ" not in result.stderr


def test_publishing_fails_over_to_the_other_node_when_its_node_stops(
    make_app: Callable[..., OpenAPI], rabbit_node: RabbitNode, second_node: RabbitNode
) -> None:
    """Publishing through one gateway given two nodes; the node holding its connection is stopped:
    publishes resume on the other within the bound, and each one answered 2xx is found on a node."""
    names = unique_names()
    nodes = [rabbit_node, second_node]
    client = make_app(
        amqp_urls=f"{rabbit_node.amqp_url},{second_node.amqp_url}",
        exchange=names.exchange,
        queue=names.queue,
        routing_key=names.routing_key,
        broker_timeout=2.0,
    ).test_client()
    sent, answered = 0, []

    def publish(n: int) -> int:
        nonlocal sent
        sent += 1
        response = client.post("/Message", json={"n": n})
        if response.status_code == 200:
            answered.append(response.get_json()["message_id"])
        return response.status_code

    try:
        for n in range(20):
            assert publish(n) == 200
        stopped = next(node for node in nodes if connected(node))
        stopped.stop()
        stopped_at = time.monotonic()
        statuses = [publish(n) for n in range(20, 25)]
        while statuses[-1] != 200 and time.monotonic() - stopped_at < FAILOVER_BOUND:
            statuses.append(publish(len(statuses) + 20))
        print(f"failover: answered 200 again {time.monotonic() - stopped_at:.1f} s after the node stopped")
        assert statuses[-1] == 200, statuses
        assert set(statuses) <= {200, 503, 504}
        for n in range(100, 120):
            assert publish(n) == 200
        stopped.start()
        found = [str(id_) for node in nodes for id_ in message_ids(node.amqp_url, names.queue)]
        result = tally("failover between two nodes", sent, answered, found)
        assert result.lost == 0
        assert result.duplicated == 0
    finally:
        for node in nodes:
            remove_names(node, names)


def connected(node: RabbitNode) -> bool:
    """Whether the exchange service has a connection open on `node`."""
    return "monty exchange" in node.ctl("list_connections", "client_properties", "--no-table-headers", "-q")


def remove_names(node: RabbitNode, names: Names) -> None:
    """Delete the test's topology on `node`, starting it if it was left stopped."""
    try:
        delete_topology(node.amqp_url, names.exchange, [names.queue, dead_letter_queue_of(names.queue)])
    except Exception:
        node.start()
        delete_topology(node.amqp_url, names.exchange, [names.queue, dead_letter_queue_of(names.queue)])
