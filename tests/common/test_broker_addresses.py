"""The order in which a process tries MONTY_AMQP_URLS, and how a refused queue declaration is read."""

from monty_common.broker.addresses import BrokerAddresses
from monty_common.broker.queue_types import durable_queue_arguments, queue_mismatch

URLS = [f"amqp://u:secret@node{n}:5672/" for n in range(1, 4)]


def test_each_address_is_tried_once_a_round_and_a_round_ends_in_backoff() -> None:
    """From the current address, a failure moves to the next at once; the third failure in a row
    (every address) asks for backoff, and the next round starts where the order wraps."""
    addresses = BrokerAddresses(URLS, shuffle=False)
    assert addresses.current == URLS[0]
    assert addresses.failed() is False
    assert addresses.current == URLS[1]
    assert addresses.failed() is False
    assert addresses.current == URLS[2]
    assert addresses.failed() is True
    assert addresses.current == URLS[0]


def test_a_lost_connection_moves_on_to_the_next_address_and_starts_a_new_round() -> None:
    """The node of a lost connection may be gone: the next address comes first, with a full round."""
    addresses = BrokerAddresses(URLS, shuffle=False)
    addresses.failed()
    addresses.lost()
    assert addresses.current == URLS[2]
    assert [addresses.failed(), addresses.failed(), addresses.failed()] == [False, False, True]


def test_one_address_is_a_round_of_one() -> None:
    """With MONTY_AMQP_URL alone every failure is a whole round."""
    addresses = BrokerAddresses(URLS[:1])
    assert addresses.failed() is True
    assert addresses.current == URLS[0]


def test_processes_shuffle_the_addresses_their_own_way() -> None:
    """Every order holds the same addresses, and the orders differ between processes (links)."""
    orders = {tuple(BrokerAddresses(URLS).order) for _ in range(60)}
    assert all(sorted(order) == sorted(URLS) for order in orders)
    assert len(orders) > 1  # 6 orders: 60 draws all alike would happen once in 6^59


def test_the_redacted_address_hides_the_password() -> None:
    """Logs name the address, never its password."""
    assert BrokerAddresses(URLS, shuffle=False).redacted == "amqp://u:***@node1:5672/"


def test_a_queue_of_the_other_type_is_read_from_the_refusal() -> None:
    """The broker's 406 names the queue, what it is and what was asked: the sentence says what to do."""
    text = (
        "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'monty-queue' in vhost '/': "
        "received 'quorum' but current is 'classic'"
    )
    mismatch = queue_mismatch(406, text)
    assert mismatch is not None
    assert (mismatch.queue, mismatch.existing, mismatch.configured) == ("monty-queue", "classic", "quorum")
    sentence = mismatch.sentence()
    assert "exists as a classic queue but MONTY_QUEUE_TYPE is quorum" in sentence
    assert "rabbitmqctl delete_queue monty-queue" in sentence
    assert "MONTY_QUEUE_TYPE=classic" in sentence


def test_a_queue_declared_without_a_type_is_classic() -> None:
    """A queue made before the setting existed has no x-queue-type: it is a classic one."""
    text = (
        "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received the "
        "value 'quorum' of type 'longstr' but current is none"
    )
    mismatch = queue_mismatch(406, text)
    assert mismatch is not None
    assert "exists as a classic queue" in mismatch.sentence()


def test_other_refusals_are_not_mismatches() -> None:
    """Only 406 inequivalent arguments are read as a mismatch."""
    assert queue_mismatch(404, "NOT_FOUND - no queue 'q' in vhost '/'") is None
    assert queue_mismatch(406, "PRECONDITION_FAILED - unknown delivery tag 1") is None


def test_quorum_queues_that_dead_letter_do_so_at_least_once() -> None:
    """At-least-once dead-lettering needs reject-publish; classic queues get neither argument."""
    quorum = durable_queue_arguments("quorum", "dlx")
    assert quorum["x-dead-letter-strategy"] == "at-least-once"
    assert quorum["x-overflow"] == "reject-publish"
    assert durable_queue_arguments("classic", "dlx") == {
        "x-queue-type": "classic",
        "x-dead-letter-exchange": "dlx",
    }
    assert durable_queue_arguments("quorum") == {"x-queue-type": "quorum"}
