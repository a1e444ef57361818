"""Fixtures shared by every service's tests: the real broker, unique names, a node of our own, apps."""

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from monty_common.broker import dead_letter_queue_of
from support.broker_admin import delete_delay_queues, delete_topology
from support.names import Names, unique_names
from support.rabbit_node import RabbitNode
from support.tokens import TestKeys

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=test"
# Tests delay messages by a few seconds at most: the delay queues of up to this many are removed after.
TEST_DELAYS_UP_TO = 10


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The machine's RabbitMQ (MONTY_TEST_AMQP_URL overrides)."""
    return os.environ.get("MONTY_TEST_AMQP_URL", DEFAULT_AMQP_URL)


@pytest.fixture
def names(amqp_url: str) -> Iterator[Names]:
    """Unique names on the machine's broker, deleted after the test (with the delay queues of the
    exchange's route and of the queue)."""
    created = unique_names()
    yield created
    delete_delay_queues(
        amqp_url, [(created.exchange, created.routing_key), ("", created.queue)], TEST_DELAYS_UP_TO
    )
    delete_topology(amqp_url, created.exchange, [created.queue, dead_letter_queue_of(created.queue)])


@pytest.fixture(scope="session")
def rabbit_node() -> Iterator[RabbitNode]:
    """A RabbitMQ node of the tests' own; tests that stop it start it again."""
    node = RabbitNode()
    node.start()
    yield node
    node.remove()


@pytest.fixture(scope="session")
def tls_rabbit_node() -> Iterator[RabbitNode]:
    """A RabbitMQ node of the tests' own that also takes amqps, its certificate for localhost."""
    node = RabbitNode(tls=True)
    node.start()
    yield node
    node.remove()


@pytest.fixture
def tls_node_names(tls_rabbit_node: RabbitNode) -> Iterator[Names]:
    """Unique names on the TLS node, deleted after the test."""
    created = unique_names()
    yield created
    delete_topology(tls_rabbit_node.amqp_url, created.exchange, [created.queue])


@pytest.fixture
def node_names(rabbit_node: RabbitNode) -> Iterator[Names]:
    """Unique names on the tests' own node, deleted after the test (if the node runs)."""
    created = unique_names()
    yield created
    queues = [created.queue, dead_letter_queue_of(created.queue)]
    try:
        delete_topology(rabbit_node.amqp_url, created.exchange, queues)
    except Exception:
        rabbit_node.start()
        delete_topology(rabbit_node.amqp_url, created.exchange, queues)


@pytest.fixture(scope="session")
def test_keys() -> Iterator[TestKeys]:
    """A signing key of the tests' own, its JWKS served on loopback."""
    keys = TestKeys()
    yield keys
    keys.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty schema in the machine's PostgreSQL (MONTY_TEST_POSTGRES overrides), dropped after."""
    dsn = os.environ.get("MONTY_TEST_POSTGRES", DEFAULT_POSTGRES)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    params = dict(item.split("=", 1) for item in dsn.split())
    yield (
        f"postgresql+psycopg://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"
        f"?options=-csearch_path%3D{schema}"
    )
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database the services support: an SQLite file, then a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def app(make_app: Callable[[], OpenAPI]) -> OpenAPI:
    """An app of the service under test, as its folder's `make_app` builds it by default."""
    return make_app()


@pytest.fixture
def client(app: OpenAPI) -> FlaskClient:
    """A test client of `app`."""
    return app.test_client()
