"""Fixtures of the cluster fault suite: a 3-node RabbitMQ cluster of the session's own, names on it,
gateway instances started on every node's URL with quorum queues, and their users."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from monty_common.broker import dead_letter_queue_of
from support.broker_admin import delete_topology
from support.gateways import ClientFor, GatewayFleet, StartGateways, client_factory, gateway_settings
from support.names import Names, unique_names
from support.rabbit_cluster import RabbitCluster
from support.tokens import TestKeys


@pytest.fixture(scope="session")
def rabbit_cluster() -> Iterator[RabbitCluster]:
    """Three RabbitMQ nodes of the tests' own, joined into one cluster; removed after the session."""
    cluster = RabbitCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(autouse=True)
def _healed_cluster(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test on the cluster, every node it stopped or killed is started again, and the cluster
    is whole before the next test gets it."""
    yield
    if "rabbit_cluster" in request.fixturenames:
        cluster: RabbitCluster = request.getfixturevalue("rabbit_cluster")
        cluster.heal()


@pytest.fixture
def cluster_names(rabbit_cluster: RabbitCluster) -> Iterator[Names]:
    """Unique names on the cluster, deleted after the test (once the cluster is whole again)."""
    created = unique_names()
    yield created
    rabbit_cluster.heal()
    delete_topology(
        rabbit_cluster.urls[0], created.exchange, [created.queue, dead_letter_queue_of(created.queue)]
    )


@pytest.fixture
def start_gateways(tmp_path: Path) -> Iterator[StartGateways]:
    """Starts gateway instances, each in its own process group; every one is stopped after the test."""
    fleet = GatewayFleet(tmp_path)
    yield fleet.start
    fleet.stop_all()


@pytest.fixture
def cluster_gateway_settings(
    rabbit_cluster: RabbitCluster, cluster_names: Names, test_keys: TestKeys
) -> dict[str, str]:
    """Settings of gateway instances on the cluster: every node's URL, quorum queues, the test's names."""
    return gateway_settings(rabbit_cluster.urls, cluster_names, test_keys.jwks_url, "quorum")


@pytest.fixture
def producer_headers(test_keys: TestKeys) -> dict[str, str]:
    """The Authorization header of the test's producer."""
    return test_keys.bearer("cluster-producer", ["producer"])


@pytest.fixture
def as_consumer(cluster_names: Names, test_keys: TestKeys) -> ClientFor:
    """The test's consumer user on a gateway."""
    return client_factory(test_keys.bearer("cluster-consumer", ["consumer"]), cluster_names.queue)


@pytest.fixture
def as_producer(cluster_names: Names, producer_headers: dict[str, str]) -> ClientFor:
    """The test's producer user on a gateway (to publish)."""
    return client_factory(producer_headers, cluster_names.queue)
