"""The broker closing every client connection of the cluster under load loses nothing."""

import time

import pytest

from support.cluster_faults import RESUME_SECONDS, count_queue, ride_out
from support.gateways import StartGateways
from support.names import Names
from support.polling import wait_until
from support.publish_load import publish_load
from support.rabbit_cluster import RabbitCluster

pytestmark = [pytest.mark.own_broker, pytest.mark.slow]


def test_publishing_resumes_after_the_broker_closes_every_connection(
    rabbit_cluster: RabbitCluster,
    start_gateways: StartGateways,
    cluster_gateway_settings: dict[str, str],
    producer_headers: dict[str, str],
    cluster_names: Names,
) -> None:
    """Two gateway instances under load; `rabbitmqctl close_all_connections`: both publish again within
    the bound, and every message answered 200 is found once."""
    gateways = start_gateways(2, cluster_gateway_settings)
    with publish_load(gateways, producer_headers) as load:
        since = time.monotonic()
        wait_until(lambda: all(load.resumed(since, g) for g in gateways), RESUME_SECONDS, "a steady load")
        closed = ride_out(load, gateways, rabbit_cluster.close_all_connections, "close_all_connections")
        time.sleep(2)
    counted = count_queue("connections closed", load.record, rabbit_cluster.urls[0], cluster_names.queue)
    assert counted.lost == 0
    assert counted.duplicated == 0
    assert counted.answered > 0
    for outage in closed.values():
        assert outage.longest_gap < RESUME_SECONDS, outage
