"""Stateless gateways, no sticky sessions: a lease taken through one gateway instance is acked, nacked
or extended through another, whichever of its worker processes answers."""

import time
from datetime import datetime

from support.broker_admin import queue_depth
from support.gateways import ClientFor
from support.leases import assert_all_settled, receive_all
from support.names import Names
from support.processes import ServiceProcess

MESSAGES = 40
# Short, so that a lease an ack failed to settle comes back within the test.
VISIBILITY = 5


def test_acks_on_the_other_instance_settle_every_lease(
    gateway_pair: list[ServiceProcess],
    as_consumer: ClientFor,
    as_producer: ClientFor,
    amqp_url: str,
    names: Names,
) -> None:
    """40 messages leased through A, acked one by one through B (and so through both of its workers):
    every ack answers 200, and nothing comes back once the leases would have expired."""
    a, b = gateway_pair
    published = as_producer(a).publish([{"n": n} for n in range(MESSAGES)])
    receiver, acker = as_consumer(a), as_consumer(b)
    acked: list[str] = []
    while len(acked) < MESSAGES:
        # Batches of ten keep each batch's acks well inside its visibility.
        batch = receiver.receive(10, VISIBILITY, wait=2)
        assert batch, f"the queue ran dry after {len(acked)} of {MESSAGES} messages"
        for message in batch:
            [result] = assert_all_settled(acker.ack([message["receipt"]]))
            assert result["message_id"] == message["message_id"]
            acked.append(message["message_id"])
    assert sorted(acked) == sorted(published)
    # A lease an ack failed to settle would be handed out again once its visibility passed.
    assert as_consumer(b).receive(10, VISIBILITY, wait=VISIBILITY + 3) == []
    assert receiver.receive(10, VISIBILITY) == []
    assert queue_depth(amqp_url, names.queue) == 0


def test_a_nack_on_the_other_instance_releases_the_message_at_once(
    gateway_pair: list[ServiceProcess], as_consumer: ClientFor, as_producer: ClientFor
) -> None:
    """Leased through A for a minute, nacked through B: it comes again at once, delivery_count 2."""
    a, b = gateway_pair
    [message_id] = as_producer(a).publish([{"nack": "me"}])
    [first] = as_consumer(a).receive(1, visibility=60)
    assert (first["message_id"], first["delivery_count"]) == (message_id, 1)
    assert_all_settled(as_consumer(b).nack([first["receipt"]], error="failed on purpose"))
    # Well before the minute's lease would have run out.
    [again] = as_consumer(a).receive(1, visibility=60, wait=10)
    assert again["message_id"] == message_id
    assert again["body"] == {"nack": "me"}
    assert again["delivery_count"] == 2
    assert_all_settled(as_consumer(b).ack([again["receipt"]]))


def test_a_nack_with_a_delay_on_the_other_instance_holds_the_message_back(
    gateway_pair: list[ServiceProcess], as_consumer: ClientFor, as_producer: ClientFor
) -> None:
    """Leased through A, nacked through B with a 5 s delay: it comes again, delivery_count 2, but not
    before those 5 s."""
    a, b = gateway_pair
    [message_id] = as_producer(a).publish([{"nack": "later"}])
    [first] = as_consumer(a).receive(1, visibility=60)
    nacked_at = time.monotonic()
    assert_all_settled(as_consumer(b).nack([first["receipt"]], delay=5))
    again = receive_all(as_consumer(a), 1, visibility=60, wait=10, rounds=2)
    arrived_after = time.monotonic() - nacked_at
    assert [(m["message_id"], m["delivery_count"]) for m in again] == [(message_id, 2)]
    assert arrived_after >= 5, f"back {arrived_after:.1f} s after a nack with a 5 s delay"


def test_an_extend_on_the_other_instance_keeps_the_message_leased(
    gateway_pair: list[ServiceProcess], as_consumer: ClientFor, as_producer: ClientFor
) -> None:
    """Leased through A for 2 s, extended through B to 30 s: not handed out again after the first 2 s,
    and still acked through B afterwards."""
    a, b = gateway_pair
    [message_id] = as_producer(a).publish([{"extend": "me"}])
    [leased] = as_consumer(a).receive(1, visibility=2)
    [result] = assert_all_settled(as_consumer(b).extend([leased["receipt"]], visibility=30))
    assert result["message_id"] == message_id
    assert expiry(result["lease_expires_at"]) > expiry(leased["lease_expires_at"])
    # Past the original 2 s and well inside the 30 s, through either instance.
    assert as_consumer(b).receive(1, visibility=30, wait=5) == []
    assert as_consumer(a).receive(1, visibility=30) == []
    assert_all_settled(as_consumer(b).ack([leased["receipt"]]))


def expiry(text: str) -> datetime:
    """A lease_expires_at value."""
    return datetime.fromisoformat(text)
