"""Publisher-confirm bookkeeping (pure logic, no broker): which message each ack, nack or return settles."""

import sys
from concurrent.futures import Future
from types import FrameType
from typing import Any

import pytest

from monty_common.broker import OutcomeUnknown, PublishRejected
from monty_common.broker.confirms import ConfirmTracker


def _sent(tracker: ConfirmTracker, *messages: tuple[str | None, bytes]) -> list["Future[None]"]:
    """Record one sent message per (message_id, body); their futures, in tag order."""
    futures: list[Future[None]] = []
    for message_id, body in messages:
        future: Future[None] = Future()
        tracker.sent(future, message_id, body)
        futures.append(future)
    return futures


def _unroutable(future: "Future[None]") -> bool:
    """Whether the message was reported unroutable (anything else must be a success here)."""
    try:
        future.result(timeout=0)
    except PublishRejected as error:
        return error.reason == "unroutable"
    return False


def test_a_return_followed_by_confirms_of_earlier_tags_marks_only_the_returned_message() -> None:
    """RabbitMQ may send held confirms of earlier tags after a return (seen on the wire: return of
    14, then ack 1 multiple, ack 5, ..., ack 14): only message 14 is unroutable."""
    tracker = ConfirmTracker()
    futures = _sent(tracker, *((f"m{n}", b"{}") for n in range(1, 15)))
    tracker.returned("m14", b"{}")
    tracker.confirmed(1, multiple=True, acked=True)
    for tag in range(5, 15):
        tracker.confirmed(tag, multiple=False, acked=True)
    tracker.confirmed(4, multiple=True, acked=True)
    assert [tag for tag, future in enumerate(futures, 1) if _unroutable(future)] == [14]
    assert len(tracker) == 0


@pytest.mark.parametrize("message_id", ["same-id", None])
def test_a_return_marks_its_own_message_not_another_with_the_same_id(message_id: str | None) -> None:
    """Two messages share a message_id (or have none); the second comes back and one multiple ack
    covers both: only the second is unroutable."""
    tracker = ConfirmTracker()
    first, second = _sent(tracker, (message_id, b'{"n": 1}'), (message_id, b'{"n": 2}'))
    tracker.returned(message_id, b'{"n": 2}')
    tracker.confirmed(2, multiple=True, acked=True)
    assert first.result(timeout=0) is None
    assert _unroutable(second)


def test_returns_before_any_confirm_each_mark_their_own_message() -> None:
    """While a node holds confirms back, several returns may come first, in publishing order."""
    tracker = ConfirmTracker()
    futures = _sent(tracker, *((f"m{n}", b"{}") for n in range(1, 6)))
    tracker.returned("m2", b"{}")
    tracker.returned("m4", b"{}")
    tracker.confirmed(5, multiple=True, acked=True)
    assert [tag for tag, future in enumerate(futures, 1) if _unroutable(future)] == [2, 4]


def test_a_confirmed_message_is_never_taken_for_a_later_identical_one() -> None:
    """A return comes before the confirm of its own tag: an identical message confirmed already
    cannot be the one returned."""
    tracker = ConfirmTracker()
    first, second = _sent(tracker, ("twin", b"{}"), ("twin", b"{}"))
    tracker.confirmed(1, multiple=False, acked=True)
    tracker.returned("twin", b"{}")
    tracker.confirmed(2, multiple=False, acked=True)
    assert first.result(timeout=0) is None
    assert _unroutable(second)


def test_identical_messages_in_flight_when_one_comes_back_are_both_unknown() -> None:
    """Nobody can tell which of two identical messages was returned: neither is reported stored or
    not stored; both are unknown outcomes naming their message_id."""
    tracker = ConfirmTracker()
    futures = _sent(tracker, ("twin", b"{}"), ("twin", b"{}"))
    tracker.returned("twin", b"{}")
    tracker.confirmed(2, multiple=True, acked=True)
    for future in futures:
        with pytest.raises(OutcomeUnknown) as unknown:
            future.result(timeout=0)
        assert unknown.value.message_id == "twin"


def test_single_and_multiple_confirms_settle_exactly_what_they_cover() -> None:
    """A single ack settles its tag only; a multiple nack settles every tag up to its own."""
    tracker = ConfirmTracker()
    futures = _sent(tracker, ("a", b"1"), ("b", b"2"), ("c", b"3"), ("d", b"4"))
    tracker.confirmed(3, multiple=False, acked=True)
    assert futures[2].result(timeout=0) is None
    assert not futures[0].done()
    assert not futures[1].done()
    tracker.confirmed(2, multiple=True, acked=False)
    for future in futures[:2]:
        with pytest.raises(PublishRejected, match="nacked"):
            future.result(timeout=0)
    assert not futures[3].done()
    tracker.lost("connection to the broker lost (test)")
    with pytest.raises(OutcomeUnknown) as unknown:
        futures[3].result(timeout=0)
    assert unknown.value.message_id == "d"


def _lines_run(call: Any) -> int:
    """How many source lines Python executes during `call()` (a count of work, not a time)."""
    count = 0

    def trace(frame: FrameType, event: str, _arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return trace

    sys.settrace(trace)
    try:
        call()
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("kind", ["multiple", "single"])
def test_a_confirm_costs_what_it_covers_not_what_is_outstanding(kind: str) -> None:
    """Settling the oldest message takes the same work with 10 or 10,000 others still unconfirmed."""

    def work(outstanding: int) -> int:
        tracker = ConfirmTracker()
        _sent(tracker, *((f"m{n}", b"{}") for n in range(outstanding)))
        return _lines_run(lambda: tracker.confirmed(1, multiple=kind == "multiple", acked=True))

    assert work(10_000) == work(10)
