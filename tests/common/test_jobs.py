"""Handing operations to a link's I/O thread (pure logic: the wake-up is a stand-in)."""

import logging
import time
from concurrent.futures import Future
from typing import Any

import pytest

from monty_common.broker import Abandoned, BrokerUnavailable
from monty_common.broker.jobs import JobQueue

CLOSED = BrokerUnavailable("no connection")


def test_a_closed_queue_refuses_work() -> None:
    """No connection serves: submitting raises at once."""
    jobs = JobQueue("test")
    with pytest.raises(BrokerUnavailable, match="no connection"):
        jobs.submit(lambda _channel, future: future.set_result(1), Future(), CLOSED)


def test_one_wake_up_runs_every_queued_job_and_closing_fails_the_rest() -> None:
    """Only the first job of a batch wakes the loop; run() drains them all; close() fails what is left."""
    wakes: list[int] = []
    jobs = JobQueue("test")
    jobs.open(lambda: wakes.append(1))
    futures: list[Future[Any]] = [Future() for _ in range(3)]
    for number, future in enumerate(futures[:2]):
        jobs.submit(lambda _channel, f, n=number: f.set_result(n), future, CLOSED)
    assert wakes == [1]
    jobs.run(channel=None)
    assert [future.result(timeout=0) for future in futures[:2]] == [0, 1]
    jobs.submit(lambda _channel, f: f.set_result(2), futures[2], CLOSED)
    jobs.close(BrokerUnavailable("connection lost"))
    with pytest.raises(BrokerUnavailable, match="connection lost"):
        futures[2].result(timeout=0)


def test_a_failed_wake_up_fails_the_queued_jobs_now(caplog: pytest.LogCaptureFixture) -> None:
    """If the loop cannot be woken, the queued jobs fail at once (logged with the cause), and the next
    job tries to wake it again."""
    attempts: list[int] = []

    def wake() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("wake-up socket closed")

    jobs = JobQueue("test")
    jobs.open(wake)
    first: Future[Any] = Future()
    with caplog.at_level(logging.ERROR):
        jobs.submit(lambda _channel, f: f.set_result("never"), first, CLOSED)
    with pytest.raises(BrokerUnavailable, match="wake-up socket closed"):
        first.result(timeout=0)
    assert caplog.records
    assert caplog.records[0].exc_info is not None
    second: Future[Any] = Future()
    jobs.submit(lambda _channel, f: f.set_result("ran"), second, CLOSED)
    assert len(attempts) == 2
    jobs.run(channel=None)
    assert second.result(timeout=0) == "ran"


def test_an_operation_that_raises_fails_its_future_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A bug in an operation becomes BrokerUnavailable for its request, logged with its stack."""

    def broken(_channel: Any, _future: "Future[Any]") -> None:
        raise RuntimeError("bug in an operation")

    jobs = JobQueue("test")
    jobs.open(lambda: None)
    future: Future[Any] = Future()
    jobs.submit(broken, future, CLOSED)
    with caplog.at_level(logging.ERROR):
        jobs.run(channel=None)
    with pytest.raises(BrokerUnavailable, match="bug in an operation"):
        future.result(timeout=0)
    assert caplog.records[0].exc_info is not None


def test_a_request_no_longer_wanted_stops_waiting_and_its_job_is_dropped() -> None:
    """While a job waits for the I/O thread, the request learns its answer is not wanted any more:
    it gives up (Abandoned) and the I/O thread drops the job instead of running it."""
    jobs = JobQueue("test")
    jobs.open(lambda: None)
    ran: list[bool] = []
    with pytest.raises(Abandoned):
        jobs.run_and_wait(
            lambda _channel, f: ran.append(f.set_running_or_notify_cancel()),
            time.monotonic() + 30,
            CLOSED,
            still_wanted=lambda: False,
        )
    jobs.run(channel=None)
    assert ran == []
