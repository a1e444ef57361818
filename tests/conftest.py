"""Fixtures shared by every service's tests: the real broker, unique names, a node of our own."""

import os
from collections.abc import Iterator

import pytest

from support.broker_admin import delete_topology
from support.names import Names, unique_names
from support.rabbit_node import RabbitNode

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The machine's RabbitMQ (MONTY_TEST_AMQP_URL overrides)."""
    return os.environ.get("MONTY_TEST_AMQP_URL", DEFAULT_AMQP_URL)


@pytest.fixture
def names(amqp_url: str) -> Iterator[Names]:
    """Unique names on the machine's broker, deleted after the test."""
    created = unique_names()
    yield created
    delete_topology(amqp_url, created.exchange, [created.queue])


@pytest.fixture(scope="session")
def rabbit_node() -> Iterator[RabbitNode]:
    """A RabbitMQ node of the tests' own; tests that stop it start it again."""
    node = RabbitNode()
    node.start()
    yield node
    node.remove()


@pytest.fixture
def node_names(rabbit_node: RabbitNode) -> Iterator[Names]:
    """Unique names on the tests' own node, deleted after the test (if the node runs)."""
    created = unique_names()
    yield created
    try:
        delete_topology(rabbit_node.amqp_url, created.exchange, [created.queue])
    except Exception:
        rabbit_node.start()
        delete_topology(rabbit_node.amqp_url, created.exchange, [created.queue])
