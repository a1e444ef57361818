"""No message lives only in gateway memory: a broker restart loses no message that was confirmed as
published, whether it was queued, leased, or released with a delay at the time."""

import time
from typing import Any

import pytest

from support.gateways import StartGateways, client_factory, gateway_settings
from support.leases import LeaseClient, assert_all_settled, assert_each_refused, ids_and_bodies
from support.names import Names
from support.rabbit_node import RabbitNode
from support.tokens import TestKeys

MESSAGES = 20
LEASED = 8
# Longer than the node's restart and the gateways' reconnection take, so that a message released
# at once instead would come back before its time.
DELAY = 30
VISIBILITY = 120
# Generous: the gateways reconnect and the delayed message's delay passes well within it.
WITHIN_SECONDS = 90


@pytest.mark.own_broker
def test_queued_leased_and_delayed_messages_survive_a_broker_restart(
    start_gateways: StartGateways, rabbit_node: RabbitNode, node_names: Names, test_keys: TestKeys
) -> None:
    """20 confirmed messages: 8 leased through two instances, one of those nacked with a 30 s delay;
    the node restarts; every one of the 20 is received again, bodies intact, the delayed one not
    before its delay, and the receipts from before the restart answer 410 lease-gone."""
    a, b = start_gateways(2, gateway_settings(rabbit_node.amqp_url, node_names, test_keys.jwks_url))
    consumer = client_factory(test_keys.bearer("lease-consumer", ["consumer"]), node_names.queue)
    producer = client_factory(test_keys.bearer("lease-producer", ["producer"]), node_names.queue)
    bodies = [{"n": n} for n in range(MESSAGES)]
    published = dict(zip(producer(a).publish(bodies), bodies, strict=True))
    leased = consumer(a).receive(LEASED // 2, VISIBILITY) + consumer(b).receive(LEASED // 2, VISIBILITY)
    assert len(leased) == LEASED
    delayed = leased[0]
    nacked_at = time.monotonic()
    assert_all_settled(consumer(b).nack([delayed["receipt"]], delay=DELAY, error="try again later"))

    rabbit_node.stop()
    rabbit_node.start()

    again, arrived = receive_through_any([consumer(a), consumer(b)], MESSAGES, WITHIN_SECONDS)
    assert ids_and_bodies(again) == published, "lost: " + str(
        sorted(set(published) - set(ids_and_bodies(again)))
    )
    [delayed_again] = [m for m in again if m["message_id"] == delayed["message_id"]]
    assert delayed_again["delivery_count"] >= 2, delayed_again
    assert arrived[delayed["message_id"]] - nacked_at >= DELAY, "the delayed message came early"
    assert_each_refused(consumer(a).ack([m["receipt"] for m in leased]), 410, "lease-gone")
    assert_all_settled(consumer(b).ack([m["receipt"] for m in again]))


def receive_through_any(
    clients: list[LeaseClient], count: int, within: float
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Lease `count` messages through the clients in turn within `within` seconds, while the gateways
    may still answer 503 (reconnecting); the messages, and when each arrived (time.monotonic)."""
    held: list[dict[str, Any]] = []
    arrived: dict[str, float] = {}
    deadline = time.monotonic() + within
    turn = 0
    while len(held) < count and time.monotonic() < deadline:
        answer = clients[turn % len(clients)].receive_answer(10, VISIBILITY, wait=2)
        turn += 1
        if answer.status_code == 200:
            held += answer.json()["messages"]
            arrived |= {message["message_id"]: time.monotonic() for message in answer.json()["messages"]}
        else:
            assert answer.status_code == 503, answer.text
            time.sleep(int(answer.headers.get("Retry-After", "1")))
    return held, arrived
