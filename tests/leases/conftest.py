"""Fixtures for the lease properties: gateway instances started as users start them, and their users."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.gateways import ClientFor, GatewayFleet, StartGateways, client_factory, gateway_settings
from support.names import Names
from support.processes import ServiceProcess
from support.tokens import TestKeys


@pytest.fixture
def start_gateways(tmp_path: Path) -> Iterator[StartGateways]:
    """Starts gateway instances, each on its own port and in its own process group (so that a test
    can crash one whole); every one is stopped after the test."""
    fleet = GatewayFleet(tmp_path)
    yield fleet.start
    fleet.stop_all()


@pytest.fixture
def gateway_pair(
    start_gateways: StartGateways, amqp_url: str, names: Names, test_keys: TestKeys
) -> list[ServiceProcess]:
    """Two gateway instances of two processes each, on the machine's broker and the test's names."""
    return start_gateways(2, gateway_settings(amqp_url, names, test_keys.jwks_url))


@pytest.fixture
def as_consumer(names: Names, test_keys: TestKeys) -> ClientFor:
    """The test's consumer user on a gateway."""
    return client_factory(test_keys.bearer("lease-consumer", ["consumer"]), names.queue)


@pytest.fixture
def as_producer(names: Names, test_keys: TestKeys) -> ClientFor:
    """The test's producer user on a gateway (to publish)."""
    return client_factory(test_keys.bearer("lease-producer", ["producer"]), names.queue)
