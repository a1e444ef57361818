"""Receipts cannot be altered or used by another user, whichever instance they are sent to."""

from support.gateways import ClientFor, client_factory
from support.leases import assert_all_settled, assert_each_refused
from support.names import Names
from support.processes import ServiceProcess
from support.tokens import TestKeys

# Each settling route with a valid rest of its body.
SETTLE: list[tuple[str, dict[str, int]]] = [
    ("ack", {}),
    ("nack", {"delay": 0}),
    ("extend", {"visibility": 60}),
]


def test_a_receipt_altered_by_one_character_is_unknown(
    gateway_pair: list[ServiceProcess], as_consumer: ClientFor, as_producer: ClientFor
) -> None:
    """A receipt with its first, a middle or its last but one character changed answers 404
    unknown-receipt per receipt to ack, nack and extend, through either instance; the lease is
    untouched."""
    a, b = gateway_pair
    as_producer(a).publish([{"altered": True}])
    [leased] = as_consumer(a).receive(1, visibility=60)
    receipt = leased["receipt"]
    forgeries = [altered(receipt, position) for position in (0, len(receipt) // 2, len(receipt) - 2)]
    for gateway in (a, b):
        for verb, fields in SETTLE:
            answer = as_consumer(gateway).settle(verb, forgeries, **fields)
            assert_each_refused(answer, 404, "unknown-receipt")
    assert as_consumer(b).receive(1, visibility=60) == []
    assert_all_settled(as_consumer(b).ack([receipt]))


def test_a_receipt_used_by_another_user_is_not_theirs(
    gateway_pair: list[ServiceProcess],
    as_consumer: ClientFor,
    as_producer: ClientFor,
    names: Names,
    test_keys: TestKeys,
) -> None:
    """Another consumer sending a genuine receipt to ack, nack or extend gets 403 not-your-lease per
    receipt, through either instance; the lease stays its holder's, who acks it."""
    a, b = gateway_pair
    [message_id] = as_producer(a).publish([{"theirs": False}])
    [leased] = as_consumer(a).receive(1, visibility=60)
    intruder = client_factory(test_keys.bearer("another-consumer", ["consumer"]), names.queue)
    for gateway in (a, b):
        for verb, fields in SETTLE:
            answer = intruder(gateway).settle(verb, [leased["receipt"]], **fields)
            [result] = assert_each_refused(answer, 403, "not-your-lease")
            assert result["message_id"] in (None, message_id), result
    assert as_consumer(b).receive(1, visibility=60) == []
    assert_all_settled(as_consumer(b).ack([leased["receipt"]]))


def altered(receipt: str, position: int) -> str:
    """`receipt` with the character at `position` replaced by another letter or digit."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    replacement = alphabet[(alphabet.find(receipt[position]) + 1) % len(alphabet)]
    return receipt[:position] + replacement + receipt[position + 1 :]
