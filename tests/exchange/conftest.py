"""Fixtures for the exchange service: settings, app and client built from the factory."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from exchange_service import create_app
from exchange_service.settings import ExchangeSettings
from monty_common.lifecycle import close_app
from support.live_server import LiveServer
from support.names import Names

AppFactory = Callable[..., OpenAPI]


@pytest.fixture
def make_app(amqp_url: str, names: Names) -> Iterator[AppFactory]:
    """Build exchange apps on unique names; every app built is closed after the test."""
    apps: list[OpenAPI] = []

    def build(**overrides: Any) -> OpenAPI:
        values: dict[str, Any] = {
            "amqp_url": amqp_url,
            "exchange": names.exchange,
            "queue": names.queue,
            "routing_key": names.routing_key,
        }
        values.update(overrides)
        app = create_app(ExchangeSettings(**values))
        apps.append(app)
        return app

    yield build
    for app in apps:
        close_app(app)


@pytest.fixture
def app(make_app: AppFactory) -> OpenAPI:
    """An exchange app on the machine's broker."""
    return make_app()


@pytest.fixture
def client(app: OpenAPI) -> FlaskClient:
    """A test client of `app`."""
    return app.test_client()


@pytest.fixture
def live_exchange(amqp_url: str, names: Names) -> Iterator[LiveServer]:
    """The exchange service started by its seed command, under gunicorn."""
    server = LiveServer(
        "Microservices/ExchangeMicroservice/app.py",
        {
            "MONTY_AMQP_URL": amqp_url,
            "MONTY_EXCHANGE": names.exchange,
            "MONTY_QUEUE": names.queue,
            "MONTY_ROUTING_KEY": names.routing_key,
        },
    )
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()
