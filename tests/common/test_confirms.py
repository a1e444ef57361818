"""Publisher-confirm bookkeeping (pure logic, no broker): which message each ack, nack or return settles."""

import sys
from concurrent.futures import Future
from types import FrameType
from typing import Any

import pytest

from monty_common.broker import OutcomeUnknown, PublishRejected
from monty_common.broker.confirms import ConfirmTracker


def _sent(tracker: ConfirmTracker, *message_ids: str | None) -> list["Future[None]"]:
    """Record one sent message per id; their futures, in tag order."""
    futures: list[Future[None]] = []
    for message_id in message_ids:
        future: Future[None] = Future()
        tracker.sent(future, message_id)
        futures.append(future)
    return futures


@pytest.mark.parametrize("message_id", ["same-id", None])
def test_a_return_marks_the_message_of_its_confirm_not_one_with_the_same_id(message_id: str | None) -> None:
    """Two messages share a message_id (or have none); the second is returned and one multiple ack
    covers both: only the second is unroutable."""
    tracker = ConfirmTracker()
    first, second = _sent(tracker, message_id, message_id)
    tracker.returned()
    tracker.confirmed(2, multiple=True, acked=True)
    assert first.result(timeout=0) is None
    with pytest.raises(PublishRejected, match="unroutable"):
        second.result(timeout=0)
    assert len(tracker) == 0


def test_single_and_multiple_confirms_settle_exactly_what_they_cover() -> None:
    """A single ack settles its tag only; a multiple nack settles every tag up to its own."""
    tracker = ConfirmTracker()
    futures = _sent(tracker, "a", "b", "c", "d")
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
        _sent(tracker, *(f"m{n}" for n in range(outstanding)))
        return _lines_run(lambda: tracker.confirmed(1, multiple=kind == "multiple", acked=True))

    assert work(10_000) == work(10)
