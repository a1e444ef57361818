"""Attempt counts in memory and in Redis: counted before, given back after, all or nothing."""

import uuid

import pytest

from monty_common.attempts import AttemptCounter, AttemptLimit, TooManyAttempts, parse_limit

STORAGES = ["memory://", "redis://127.0.0.1:6379/0"]


def _limit(text: str) -> AttemptLimit:
    """A limit under a key of this test's own."""
    return AttemptLimit(parse_limit(text), f"test|{uuid.uuid4().hex}")


@pytest.mark.parametrize("storage", STORAGES)
def test_a_count_given_back_makes_room_again(storage: str) -> None:
    """Five attempts use up "5 per minute"; giving one back (a success) lets one more in."""
    counter = AttemptCounter(storage)
    limit = _limit("5 per minute")
    attempts = [counter.count([limit]) for _ in range(5)]
    with pytest.raises(TooManyAttempts) as refused:
        counter.count([limit])
    assert 1 <= refused.value.retry_after <= 60
    counter.give_back(attempts[0])
    counter.count([limit])
    with pytest.raises(TooManyAttempts):
        counter.count([limit])


@pytest.mark.parametrize("storage", STORAGES)
def test_a_refused_attempt_counts_nowhere(storage: str) -> None:
    """An attempt one limit refuses is taken back from the limits it had already passed."""
    counter = AttemptCounter(storage)
    roomy, full = _limit("3 per minute"), _limit("1 per minute")
    counter.count([full])
    for _ in range(5):
        with pytest.raises(TooManyAttempts):
            counter.count([roomy, full])
    assert counter.is_unused(roomy)
    assert not counter.is_unused(full)


@pytest.mark.parametrize("storage", STORAGES)
def test_a_used_up_lenient_limit_refuses_nothing(storage: str) -> None:
    """A lenient limit counts while it has room and never refuses."""
    counter = AttemptCounter(storage)
    lenient = _limit("1 per minute")
    first = counter.count([], lenient=[lenient])
    second = counter.count([], lenient=[lenient])
    assert first.limits == [lenient]
    assert second.limits == []


class Clock:
    """A clock the test moves (the memory storage reads time through `time.time`)."""

    def __init__(self, now: float) -> None:
        """Start at `now`."""
        self.now = now

    def time(self) -> float:
        """The current time."""
        return self.now


def test_a_success_counted_as_the_window_turns_leaves_the_limit_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A success counted just before a window ends and given back just after cannot be taken out of
    the new window (it was counted in the old one): the failures that follow get exactly the limit,
    not one more."""
    clock = Clock(60 * 1_000_000 - 0.1)  # a tenth of a second before a minute window ends
    monkeypatch.setattr("limits.storage.memory.time", clock)
    counter = AttemptCounter("memory://")
    limit = _limit("5 per minute")
    success = counter.count([limit])
    clock.now += 0.2
    counter.give_back(success)
    for _ in range(5):
        counter.count([limit])
    with pytest.raises(TooManyAttempts):
        counter.count([limit])
