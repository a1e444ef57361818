"""Fixtures for the exchange service: settings, app and client built from the factory."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from exchange_service import create_app
from exchange_service.settings import ExchangeSettings
from support.apps import AppBuilder
from support.live_server import LiveServer
from support.names import Names
from support.tokens import TestKeys

AppFactory = Callable[..., OpenAPI]


class AdminClient(FlaskClient):
    """A test client whose requests carry an admin's token unless they set Authorization themselves."""

    token = ""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Add the token."""
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return super().open(*args, headers=headers, **kwargs)


@pytest.fixture
def make_app(amqp_url: str, names: Names, test_keys: TestKeys) -> Iterator[AppFactory]:
    """Build exchange apps on unique names, trusting the tests' signing key; closed after the test.

    Their test clients act as an admin (who may publish and consume) unless a test says otherwise.
    """

    def act_as_admin(app: OpenAPI) -> None:
        app.test_client_class = type(
            "Client", (AdminClient,), {"token": test_keys.token("admin-user", ["admin"])}
        )

    builder = AppBuilder(
        create_app,
        ExchangeSettings,
        {
            "amqp_url": amqp_url,
            "exchange": names.exchange,
            "queue": names.queue,
            "routing_key": names.routing_key,
            "jwks_url": test_keys.jwks_url,
        },
        act_as_admin,
    )
    yield builder
    builder.close_all()


@pytest.fixture
def app(make_app: AppFactory) -> OpenAPI:
    """An exchange app on the machine's broker."""
    return make_app()


@pytest.fixture
def client(app: OpenAPI) -> FlaskClient:
    """A test client of `app`."""
    return app.test_client()


@pytest.fixture
def live_exchange_env(amqp_url: str, names: Names, test_keys: TestKeys) -> dict[str, str]:
    """Settings of an exchange service on the test's broker names, trusting the test keys."""
    return {
        "MONTY_AMQP_URL": amqp_url,
        "MONTY_EXCHANGE": names.exchange,
        "MONTY_QUEUE": names.queue,
        "MONTY_ROUTING_KEY": names.routing_key,
        "MONTY_JWKS_URL": test_keys.jwks_url,
    }


@pytest.fixture
def live_exchange(live_exchange_env: dict[str, str]) -> Iterator[LiveServer]:
    """The exchange service started by its seed command, under gunicorn."""
    server = LiveServer("Microservices/ExchangeMicroservice/app.py", live_exchange_env)
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()
