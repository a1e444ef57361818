"""A gateway crash loses nothing: the messages its processes held leases on come again through another
instance long before their leases would have expired, and the old receipts are answered as gone."""

from support.gateways import ClientFor
from support.leases import assert_all_settled, assert_each_refused, ids_and_bodies, receive_all
from support.processes import ServiceProcess

MESSAGES = 30
# Far longer than the test: a message back within it came back because its holder died.
VISIBILITY = 120
# A generous bound on the redelivery, still well before the leases would have expired.
WITHIN_SECONDS = 30


def test_messages_leased_through_a_killed_instance_come_again_through_the_other(
    gateway_pair: list[ServiceProcess], as_consumer: ClientFor, as_producer: ClientFor
) -> None:
    """30 messages leased through A for 120 s; A's master and workers are SIGKILLed together; all 30
    are leased again through B within seconds, marked as redelivered, bodies intact; acks of A's
    receipts through B answer 410 lease-gone per receipt and settle nothing."""
    a, b = gateway_pair
    bodies = [{"n": n, "text": f"message {n}"} for n in range(MESSAGES)]
    published = dict(zip(as_producer(b).publish(bodies), bodies, strict=True))
    held = receive_all(as_consumer(a), MESSAGES, VISIBILITY)
    assert ids_and_bodies(held) == published
    assert as_consumer(b).receive(10, VISIBILITY) == []  # all leased: none to hand out

    a.kill_group()

    again = receive_all(as_consumer(b), MESSAGES, VISIBILITY, wait=2, rounds=WITHIN_SECONDS // 2)
    assert ids_and_bodies(again) == published, "lost: " + str(
        sorted(set(published) - set(ids_and_bodies(again)))
    )
    for message in again:
        assert message["delivery_count"] >= 2 or message["redelivered"], message
    gone = assert_each_refused(as_consumer(b).ack([m["receipt"] for m in held]), 410, "lease-gone")
    for result, message in zip(gone, held, strict=True):
        assert result["message_id"] in (None, message["message_id"]), result
    # The old receipts settled nothing: the new leases still hold, and are acked now.
    assert_all_settled(as_consumer(b).ack([m["receipt"] for m in again]))
    assert as_consumer(b).receive(10, VISIBILITY, wait=1) == []
