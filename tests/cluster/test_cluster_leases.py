"""Leased messages on the cluster's quorum queue survive the loss of their holder: the gateway instance
holding them, or the cluster node its lease connection is on. At least once: none lost, copies counted."""

import time
from collections import Counter
from typing import Any

import pytest

from support.broker_admin import drain_message_ids
from support.gateways import ClientFor, StartGateways
from support.leases import LeaseClient, receive_all, results_of
from support.names import Names
from support.rabbit_cluster import RabbitCluster
from support.tally import tally

pytestmark = [pytest.mark.own_broker, pytest.mark.slow]

MESSAGES = 60
# Far longer than the test: a message back within it came back because its holder went away.
VISIBILITY = 120
# A generous bound on the redelivery.
WITHIN_SECONDS = 30


def _settle_everything(
    client: LeaseClient, held: list[dict[str, Any]], published: list[str]
) -> tuple[set[str], list[str]]:
    """Ack `held`, then receive and ack until every message of `published` was acked and the queue
    is empty, for WITHIN_SECONDS at most; the message_ids whose ack answered 200, and the message_id
    of every delivery (held ones included).

    While the gateway fails over, a receive or an ack may be answered 503: the leases of a lost
    connection are gone, and their messages come again.
    """
    acked: set[str] = set()
    delivered = [message["message_id"] for message in held]
    batch = held
    statuses: Counter[int] = Counter()
    ack_results: Counter[int] = Counter()
    deadline = time.monotonic() + WITHIN_SECONDS
    while time.monotonic() < deadline:
        if batch:
            answer = client.ack([message["receipt"] for message in batch])
            ack_results[answer.status_code] += 0 if answer.status_code in (200, 207) else 1
            if answer.status_code in (200, 207):
                for message, result in zip(batch, results_of(answer), strict=True):
                    ack_results[result["status"]] += 1
                    if result["status"] == 200:
                        acked.add(message["message_id"])
        received = client.receive_answer(100, VISIBILITY, wait=2)
        statuses[received.status_code] += 1
        batch = received.json()["messages"] if received.status_code == 200 else []
        delivered += [message["message_id"] for message in batch]
        if not batch and received.status_code == 200 and acked >= set(published):
            break
    print(f"receives answered: {dict(statuses)}; ack results: {dict(ack_results)}", flush=True)
    return acked, delivered


def test_leases_of_a_killed_instance_come_back_through_the_other_on_the_cluster(
    start_gateways: StartGateways,
    cluster_gateway_settings: dict[str, str],
    as_consumer: ClientFor,
    as_producer: ClientFor,
    rabbit_cluster: RabbitCluster,
    cluster_names: Names,
) -> None:
    """60 messages leased through A for 120 s; A's master and workers are SIGKILLed together: all 60
    are leased again through B within the bound and acked; nothing is left in the queue."""
    a, b = start_gateways(2, cluster_gateway_settings)
    published = as_producer(b).publish([{"n": n} for n in range(MESSAGES)])
    held = receive_all(as_consumer(a), MESSAGES, VISIBILITY)
    assert len(held) == MESSAGES

    a.kill_group()

    again = receive_all(as_consumer(b), MESSAGES, VISIBILITY, wait=2, rounds=WITHIN_SECONDS // 2)
    acked, delivered = _settle_everything(as_consumer(b), again, published)
    left = drain_message_ids(rabbit_cluster.urls[0], cluster_names.queue)
    counted = tally("lease holder killed", MESSAGES, published, [*acked, *left])
    print(f"lease holder killed: delivered {len(delivered) + len(held)} times in all", flush=True)
    assert counted.lost == 0
    assert counted.duplicated == 0  # each acked once, nothing left behind
    assert not left


def test_a_node_killed_under_leased_messages_loses_none(
    start_gateways: StartGateways,
    cluster_gateway_settings: dict[str, str],
    as_consumer: ClientFor,
    as_producer: ClientFor,
    rabbit_cluster: RabbitCluster,
    cluster_names: Names,
) -> None:
    """60 messages leased through A for 120 s; the node holding most of A's connections is killed with
    SIGKILL: acking, then receiving and acking through A until the queue stays empty, then starting
    the node again and doing the same, every message is acked at least once (deliveries again after
    the loss are counted as copies).

    The node is started again because a quorum queue keeps the messages got over a channel of a node
    that went away checked out to that channel until the node returns: they are neither ready nor
    delivered meanwhile. How many waited for it is printed.
    """
    [a] = start_gateways(1, cluster_gateway_settings)
    published = as_producer(a).publish([{"n": n} for n in range(MESSAGES)])
    held = receive_all(as_consumer(a), MESSAGES, VISIBILITY)
    assert len(held) == MESSAGES
    nodes = rabbit_cluster.nodes_serving(a.group_pids())
    assert nodes, "the gateway holds no connection the cluster knows of"
    victim = nodes.most_common(1)[0][0]

    rabbit_cluster.kill_node(victim)

    acked, delivered = _settle_everything(as_consumer(a), held, published)
    stuck = [message_id for message_id in published if message_id not in acked]
    rabbit_cluster.start_node(victim)
    acked_after, delivered_after = _settle_everything(as_consumer(a), [], stuck)
    left = drain_message_ids(rabbit_cluster.urls[victim], cluster_names.queue)
    delivered += delivered_after
    counted = tally("node killed under leases", MESSAGES, published, [*delivered, *left])
    copies = sum(count - 1 for count in Counter(delivered).values())
    print(
        f"node killed under leases: acked {len(acked)} while it was down, {len(stuck)} held back until it "
        f"returned, {len(acked_after)} of them acked after; delivered again {copies}",
        flush=True,
    )
    assert counted.lost == 0
    assert acked | acked_after == set(published)
    assert not left
