"""Delay queues (pure logic): their names and arguments, and when a channel must declare one again."""

from typing import Any

from monty_common.broker.delays import (
    IDLE_SECONDS,
    NAME_MAX_BYTES,
    REDECLARE_SECONDS,
    DelayDeclarations,
    DelayQueue,
    is_delay_queue,
)


def test_a_delay_queue_is_named_for_its_delay_and_target() -> None:
    """Readable: the delay, then the exchange (amq.default for the default one) and routing key."""
    assert DelayQueue("monty.exchange", "message", 30).name.startswith(
        "monty.delay.30s.monty.exchange.message."
    )
    assert DelayQueue("", "monty-queue", 5).name.startswith("monty.delay.5s.amq.default.monty-queue.")
    assert is_delay_queue("", DelayQueue("", "q", 5).name)
    assert not is_delay_queue("monty.exchange", DelayQueue("", "q", 5).name)


def test_targets_that_read_alike_get_queues_of_their_own() -> None:
    """Exchange a.b with key c, and exchange a with key b.c, must never share a queue."""
    assert DelayQueue("a.b", "c", 5).name != DelayQueue("a", "b.c", 5).name
    assert DelayQueue("", "q", 5).name != DelayQueue("amq.default", "q", 5).name
    assert DelayQueue("e", "k", 5).name != DelayQueue("e", "k", 6).name


def test_a_long_target_still_names_a_queue_within_255_bytes() -> None:
    """The readable part is cut (never inside a UTF-8 character); the hash keeps it unique."""
    long_one = DelayQueue("\u00e9" * 127, "k" * 255, 900)
    other = DelayQueue("\u00e9" * 127, "k" * 254 + "j", 900)
    assert len(long_one.name.encode()) <= NAME_MAX_BYTES
    assert long_one.name != other.name
    long_one.name.encode().decode("utf-8")


def test_its_messages_wait_then_go_to_the_target_and_an_idle_queue_goes_away() -> None:
    """TTL of the delay, dead-lettered to the target exchange and key; expires an hour past its delay."""
    assert DelayQueue("monty.exchange", "message", 30).arguments == {
        "x-queue-type": "classic",
        "x-message-ttl": 30_000,
        "x-dead-letter-exchange": "monty.exchange",
        "x-dead-letter-routing-key": "message",
        "x-expires": (30 + IDLE_SECONDS) * 1000,
    }


class _Channel:
    """Records declarations; the test answers them."""

    def __init__(self) -> None:
        """Nothing declared yet."""
        self.declared: list[tuple[str, Any]] = []

    def queue_declare(self, queue: str, durable: bool, arguments: dict[str, Any], callback: Any) -> None:
        """Remember the declaration and its callback."""
        assert durable
        self.declared.append((queue, callback))


def test_messages_wait_for_one_declaration_then_go_in_order() -> None:
    """The first message to a queue declares it; those behind it wait for the same declaration."""
    now = [0.0]
    declarations: DelayDeclarations[str] = DelayDeclarations(lambda: now[0])
    channel = _Channel()
    queue = DelayQueue("", "q", 5)
    sent: list[str] = []
    assert not declarations.ready(queue)
    declarations.declare_then(channel, queue, "first", sent.extend)
    declarations.declare_then(channel, queue, "second", sent.extend)
    assert [name for name, _callback in channel.declared] == [queue.name]
    assert sent == []
    channel.declared[0][1](None)
    assert sent == ["first", "second"]
    assert declarations.ready(queue)


def test_a_queue_is_declared_again_before_its_idle_expiry_could_come() -> None:
    """Publishing does not keep a queue alive (x-expires): a declaration older than
    REDECLARE_SECONDS is made again before the next message."""
    now = [100.0]
    declarations: DelayDeclarations[str] = DelayDeclarations(lambda: now[0])
    channel = _Channel()
    queue = DelayQueue("", "q", 5)
    declarations.declare_then(channel, queue, "first", lambda _items: None)
    channel.declared[0][1](None)
    now[0] += REDECLARE_SECONDS - 1
    assert declarations.ready(queue)
    now[0] += 1
    assert not declarations.ready(queue)
    assert REDECLARE_SECONDS < IDLE_SECONDS


def test_a_returned_queue_is_forgotten_and_a_lost_channel_gives_back_what_waited() -> None:
    """After a return the queue is declared again; on a lost channel the waiting messages were never sent."""
    declarations: DelayDeclarations[str] = DelayDeclarations(lambda: 0.0)
    channel = _Channel()
    ready_queue, slow_queue = DelayQueue("", "q", 5), DelayQueue("", "q", 6)
    declarations.declare_then(channel, ready_queue, "a", lambda _items: None)
    channel.declared[0][1](None)
    declarations.forget(ready_queue.name)
    assert not declarations.ready(ready_queue)
    declarations.declare_then(channel, slow_queue, "b", lambda _items: None)
    assert declarations.abandon() == ["b"]
    assert declarations.abandon() == []


def test_quorum_delay_queues_have_names_of_their_own_and_never_expire() -> None:
    """Switching MONTY_QUEUE_TYPE never meets a delay queue of the other type; a quorum queue's
    x-expires is not renewed by declaring it again, so it has none (it would go with messages in it),
    and it dead-letters at-least-once."""
    classic = DelayQueue("e", "k", 5)
    quorum = DelayQueue("e", "k", 5, "quorum")
    assert quorum.name.startswith("monty.delay.quorum.5s.e.k.")
    assert quorum.name != classic.name
    assert is_delay_queue("", quorum.name)
    assert "x-expires" not in quorum.arguments
    assert quorum.arguments["x-queue-type"] == "quorum"
    assert quorum.arguments["x-dead-letter-strategy"] == "at-least-once"
    assert quorum.arguments["x-message-ttl"] == 5000
    assert classic.arguments["x-queue-type"] == "classic"
    assert "x-expires" in classic.arguments
