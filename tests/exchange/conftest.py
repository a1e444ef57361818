"""Fixtures for the exchange service: apps built from the factory, and the service as users start it."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from support.amqp_proxy import AmqpProxy
from support.apps import exchange_app_builder
from support.names import Names
from support.processes import ServiceProcess, start_service
from support.queue_types import tested_queue_type
from support.rabbit_node import RabbitNode
from support.tokens import TestKeys
from support.users import SERVICE_SECRET

AppFactory = Callable[..., OpenAPI]
# The machine's Redis (MONTY_TEST_REDIS_URL overrides); the tests' keys are their own (random).
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class AdminClient(FlaskClient):
    """A test client whose requests carry an admin's token unless they set Authorization themselves."""

    token = ""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Add the token."""
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return super().open(*args, headers=headers, **kwargs)


@pytest.fixture
def make_app(amqp_url: str, names: Names, test_keys: TestKeys, tmp_path: Path) -> Iterator[AppFactory]:
    """Build exchange apps on unique names, trusting the tests' signing key; closed after the test.

    Their test clients act as an admin (who may publish and consume) unless a test says otherwise.
    """

    def act_as_admin(app: OpenAPI) -> None:
        app.test_client_class = type(
            "Client", (AdminClient,), {"token": test_keys.token("admin-user", ["admin"])}
        )

    builder = exchange_app_builder(amqp_url, names, test_keys.jwks_url, tmp_path / "data", act_as_admin)
    yield builder
    builder.close_all()


@pytest.fixture
def live_exchange_env(amqp_url: str, names: Names, test_keys: TestKeys, tmp_path: Path) -> dict[str, str]:
    """Settings of an exchange service on the test's broker names, trusting the test keys."""
    return {
        "MONTY_DATA_DIR": str(tmp_path / "data"),
        "MONTY_AMQP_URL": amqp_url,
        "MONTY_EXCHANGE": names.exchange,
        "MONTY_QUEUE": names.queue,
        "MONTY_ROUTING_KEY": names.routing_key,
        "MONTY_QUEUE_TYPE": tested_queue_type(),
        "MONTY_JWKS_URL": test_keys.jwks_url,
        "MONTY_SERVICE_SECRET": SERVICE_SECRET,
        # No user service here: tokens are not checked for revocation.
        "MONTY_USERS_URL": "",
    }


@pytest.fixture
def live_exchange(live_exchange_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    """The exchange service started by its seed command, under gunicorn."""
    server = start_service(
        "Microservices/ExchangeMicroservice/app.py", live_exchange_env, tmp_path / "exchange.log"
    )
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The machine's Redis."""
    return os.environ.get("MONTY_TEST_REDIS_URL", DEFAULT_REDIS_URL)


@pytest.fixture(params=["sqlite", "redis", "postgresql"])
def idempotency_url(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> str:
    """Each idempotency store: an SQLite file (the embedded default's kind), Redis, a fresh PostgreSQL
    schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'idempotency.db'}"
    if request.param == "redis":
        return redis_url
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def amqp_proxy(amqp_url: str) -> Iterator[AmqpProxy]:
    """A proxy to the machine's broker that can hold back or cut off its confirms."""
    proxy = AmqpProxy(amqp_url)
    yield proxy
    proxy.close()


@pytest.fixture
def node_app(make_app: Callable[..., OpenAPI], rabbit_node: RabbitNode, node_names: Names) -> OpenAPI:
    """An exchange app on the tests' own node, with a short broker timeout."""
    return make_app(
        amqp_url=rabbit_node.amqp_url,
        exchange=node_names.exchange,
        queue=node_names.queue,
        routing_key=node_names.routing_key,
        broker_timeout=2.0,
    )
