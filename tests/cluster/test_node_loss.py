"""Publishing through gateway instances survives the loss of a cluster node: one stopped, one killed,
the one holding a gateway's connections killed. Nothing confirmed is lost, nothing is stored twice."""

import time

import pytest

from support.cluster_faults import RESUME_SECONDS, count_queue, ride_out
from support.gateways import StartGateways
from support.names import Names
from support.polling import wait_until
from support.processes import ServiceProcess
from support.publish_load import PublishLoad, publish_load
from support.rabbit_cluster import RabbitCluster

pytestmark = [pytest.mark.own_broker, pytest.mark.slow]

# Load before a fault, and after the node is back, so that both sides of it are counted.
STEADY_SECONDS = 2.0


def _steady(load: PublishLoad, gateways: list[ServiceProcess]) -> None:
    """Wait until every gateway publishes, then let the load run a little."""
    since = time.monotonic()
    try:
        wait_until(lambda: all(load.resumed(since, g) for g in gateways), RESUME_SECONDS, "steady load", 0.2)
    except AssertionError:
        print(f"no steady load; answers so far {dict(load.record.statuses)}", flush=True)
        raise
    time.sleep(STEADY_SECONDS)


def test_publishing_rides_out_a_node_stopped_and_another_killed(
    rabbit_cluster: RabbitCluster,
    start_gateways: StartGateways,
    cluster_gateway_settings: dict[str, str],
    producer_headers: dict[str, str],
    cluster_names: Names,
) -> None:
    """Two gateway instances publish (single and batch) while the node leading the queue is stopped,
    then, once it is back, the node holding most gateway connections is made the leader and killed
    with SIGKILL: each
    time every gateway publishes again within the bound while the node is still down; every message
    answered 200 is found in the queue once, and the longest gap between confirmed publishes (the
    failover time) is printed."""
    gateways = start_gateways(2, cluster_gateway_settings)
    pids = [pid for gateway in gateways for pid in gateway.group_pids()]
    with publish_load(gateways, producer_headers) as load:
        _steady(load, gateways)
        leader = rabbit_cluster.queue_leader(cluster_names.queue)
        stopped = ride_out(
            load, gateways, lambda: rabbit_cluster.stop_node(leader), f"node {leader + 1} stopped"
        )
        rabbit_cluster.start_node(leader)
        _steady(load, gateways)
        held = rabbit_cluster.nodes_serving(pids)
        victim = max((i for i in range(3) if i != leader), key=lambda i: held[i])
        print(f"gateway connections by node index: {dict(held)}; queue leader was {leader}", flush=True)
        # The worst case: the queue elects a new leader while the gateways fail over.
        rabbit_cluster.move_leader(cluster_names.queue, victim)
        killed = ride_out(
            load, gateways, lambda: rabbit_cluster.kill_node(victim), f"node {victim + 1} killed"
        )
        rabbit_cluster.start_node(victim)
        _steady(load, gateways)
    label = "node stopped, node killed"
    counted = count_queue(label, load.record, rabbit_cluster.urls[0], cluster_names.queue)
    assert counted.lost == 0
    assert counted.duplicated == 0
    assert counted.answered > 0
    for outage in [*stopped.values(), *killed.values()]:
        assert outage.longest_gap < RESUME_SECONDS, outage


def test_a_gateway_fails_over_when_the_node_holding_its_connections_is_killed(
    rabbit_cluster: RabbitCluster,
    start_gateways: StartGateways,
    cluster_gateway_settings: dict[str, str],
    producer_headers: dict[str, str],
    cluster_names: Names,
) -> None:
    """One gateway instance under load; the node holding most of its connections is made the queue's
    leader, then killed with SIGKILL and left down: the gateway publishes again through the other
    nodes within the bound, its connections are then all on surviving nodes, and every message
    answered 200 is found once."""
    [gateway] = start_gateways(1, cluster_gateway_settings)
    pids = gateway.group_pids()
    with publish_load([gateway], producer_headers) as load:
        _steady(load, [gateway])
        held = rabbit_cluster.nodes_serving(pids)
        assert held, "the gateway holds no connection the cluster knows of"
        victim = held.most_common(1)[0][0]
        # The worst case: the queue elects a new leader while the gateway fails over.
        rabbit_cluster.move_leader(cluster_names.queue, victim)
        killed = ride_out(
            load, [gateway], lambda: rabbit_cluster.kill_node(victim), f"node {victim + 1} killed"
        )
        moved = rabbit_cluster.nodes_serving(pids)
        _steady(load, [gateway])
    survivor = rabbit_cluster.urls[rabbit_cluster.running[0]]
    counted = count_queue("node of the gateway killed", load.record, survivor, cluster_names.queue)
    assert counted.lost == 0
    assert counted.duplicated == 0
    assert moved, "the gateway holds no connection after the failover"
    assert victim not in moved, moved
    assert killed[gateway.name].longest_gap < RESUME_SECONDS
