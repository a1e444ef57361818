"""Long-poll waiters on one channel (pure logic: the channel is a stand-in recording what is asked)."""

from concurrent.futures import Future
from typing import Any

from monty_common.broker.takes import Take
from monty_common.broker.waiting import Waiters


class Loop:
    """An I/O loop whose timers fire only when told to."""

    def __init__(self) -> None:
        """No timers yet."""
        self.timers: dict[int, Any] = {}

    def call_later(self, _delay: float, callback: Any) -> int:
        """Remember the timer."""
        handle = len(self.timers) + 1
        self.timers[handle] = callback
        return handle

    def remove_timeout(self, handle: int) -> None:
        """Forget the timer."""
        self.timers.pop(handle, None)

    def fire(self) -> None:
        """Run every pending timer."""
        for handle in list(self.timers):
            self.timers.pop(handle)()


class Channel:
    """Records consumers started and cancels asked for; the test answers the cancels."""

    def __init__(self) -> None:
        """No consumers yet."""
        self.connection = type("Connection", (), {"ioloop": Loop()})()
        self.consumer_tags: set[str] = set()
        self.started: list[str] = []
        self.cancel_answers: dict[str, Any] = {}

    def basic_qos(self, **_kwargs: Any) -> None:
        """Prefetch is not modelled."""

    def basic_consume(self, _queue: str, _callback: Any) -> str:
        """Start a consumer with a new tag."""
        tag = f"ctag{len(self.started) + 1}"
        self.started.append(tag)
        self.consumer_tags.add(tag)
        return tag

    def basic_cancel(self, tag: str, callback: Any) -> None:
        """Ask to cancel; the answer comes when the test says so."""
        self.cancel_answers[tag] = callback

    def broker_cancels(self, tag: str) -> None:
        """The broker drops the consumer (its queue was deleted)."""
        self.consumer_tags.discard(tag)


def _take(wait: float = 5.0) -> Take:
    """A take willing to wait."""
    return Take(Future(), 1, wait)


def test_a_late_cancel_answer_does_not_orphan_the_consumer_started_after_the_broker_cancel() -> None:
    """Our cancel and the broker's cross: the consumer started for a new waiter stays the one we
    track (and cancel later), not a second one left consuming with nobody to cancel it."""
    channel = Channel()
    waiters = Waiters("queue")
    waiters.add(channel, _take())
    channel.connection.ioloop.fire()  # the wait ends: its consumer is being cancelled
    assert list(channel.cancel_answers) == ["ctag1"]
    waiters.add(channel, _take())  # a new waiter while the cancel is on its way
    channel.broker_cancels("ctag1")
    waiters.cancelled_by_broker(channel, "ctag1")
    assert channel.started == ["ctag1", "ctag2"]
    channel.cancel_answers.pop("ctag1")(None)  # the late answer to our cancel
    assert channel.started == ["ctag1", "ctag2"], "a third consumer orphans the second"
    channel.connection.ioloop.fire()  # the second wait ends: the tracked consumer is ctag2
    assert "ctag2" in channel.cancel_answers
