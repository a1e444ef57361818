"""The shared broker links, used directly (no HTTP), against the real broker."""

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator

import pika
import pytest

from monty_common.broker import AmqpLink, BrokerUnavailable, ConfirmedPublisher, MessageGetter, Topology
from monty_common.settings import BrokerSettings
from support.names import Names
from support.polling import wait_until


@pytest.fixture
def settings(amqp_url: str) -> BrokerSettings:
    """Broker settings for the machine's broker."""
    return BrokerSettings(amqp_url=amqp_url, broker_timeout=5.0)


@pytest.fixture
def topology(names: Names) -> Topology:
    """The test's unique exchange, queue and key."""
    return Topology(names.exchange, names.queue, names.routing_key)


@pytest.fixture
def publisher(settings: BrokerSettings, topology: Topology) -> Iterator[ConfirmedPublisher]:
    """A publisher on unique names, closed after the test."""
    link = ConfirmedPublisher(settings, topology, "test")
    yield link
    link.close()


def _properties(message_id: str) -> pika.BasicProperties:
    """Minimal properties for a test message."""
    return pika.BasicProperties(message_id=message_id, delivery_mode=2)


def _io_threads(link: AmqpLink) -> list[threading.Thread]:
    """The live I/O threads started for `link` (named after it)."""
    return [thread for thread in threading.enumerate() if thread.name == f"amqp-{link._label}"]


def test_link_survives_an_error_escaping_its_io_loop(publisher: ConfirmedPublisher) -> None:
    """An exception out of the I/O loop does not leave the process with a dead link."""
    publisher.publish(b"1", _properties("one"))
    session = publisher.link._session
    assert session is not None

    def explode() -> None:
        raise RuntimeError("bug in a callback")

    session._conn.ioloop.add_callback_threadsafe(explode)
    wait_until(lambda: publisher.link._session is not session, 10, "the link to drop the broken connection")
    publisher.publish(b"2", _properties("two"))
    assert publisher.link.is_ready


def test_getter_takes_in_order_and_reports_empty(
    settings: BrokerSettings, publisher: ConfirmedPublisher, topology: Topology
) -> None:
    """basic.get one at a time, acked, first in first out; None when the queue is empty."""
    getter = MessageGetter(settings, topology, "test")
    try:
        for i in range(3):
            publisher.publish(str(i).encode(), _properties(f"m{i}"))
        taken = [getter.get() for _ in range(3)]
        assert [d.body for d in taken if d] == [b"0", b"1", b"2"]
        assert [d.remaining for d in taken if d] == [2, 1, 0]
        assert getter.get() is None
    finally:
        getter.close()


def test_first_calls_racing_start_one_io_thread(settings: BrokerSettings, topology: Topology) -> None:
    """Request threads using a new link at the same instant start one I/O thread and one connection."""
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to provoke the race
    try:
        for trial in range(40):
            publisher = ConfirmedPublisher(settings, topology, f"race-{trial}")
            racers = 8
            lined_up = threading.Barrier(racers)

            def first_use(link: AmqpLink = publisher.link, lined_up: threading.Barrier = lined_up) -> None:
                lined_up.wait()
                link.wait_ready(time.monotonic() + 10)

            threads = [threading.Thread(target=first_use) for _ in range(racers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            started = len(_io_threads(publisher.link))
            publisher.close()
            assert started == 1, f"trial {trial}: {started} I/O threads for one link"
    finally:
        sys.setswitchinterval(switch_interval)


def test_a_closed_link_stays_closed(publisher: ConfirmedPublisher) -> None:
    """close() ends the connection and its thread for good: a request still running gets 503, and
    no connection is opened again."""
    publisher.publish(b"x", _properties("x"))
    thread = publisher.link._thread
    assert thread is not None
    publisher.close()
    assert not thread.is_alive()
    assert not publisher.link.is_ready
    with pytest.raises(BrokerUnavailable, match="closed"):
        publisher.publish(b"late", _properties("late"))
    assert _io_threads(publisher.link) == []
    assert publisher.link._session is None


def test_a_failing_operation_is_logged_with_its_stack(
    publisher: ConfirmedPublisher, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker job that raises answers 503 naming the error, logs it with its stack, and the link
    carries on."""
    unencodable = pika.BasicProperties(message_id="bad", headers={"not-a-field-type": object()})
    with caplog.at_level(logging.ERROR), pytest.raises(BrokerUnavailable, match="broker operation failed"):
        publisher.publish(b"x", unencodable)
    failures = [record for record in caplog.records if record.getMessage() == "broker operation failed"]
    assert failures, "the failure was not logged"
    assert failures[0].exc_info is not None
    assert failures[0].exc_info[0] is not None
    publisher.publish(b"after", _properties("after"))


def test_a_loop_that_cannot_be_woken_fails_the_request_at_once(
    publisher: ConfirmedPublisher, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """When the I/O loop cannot be woken, the request is told so (and the cause logged) instead of
    waiting out its deadline for a job nobody will run."""
    publisher.publish(b"1", _properties("one"))
    session = publisher.link._session
    assert session is not None

    def broken_wake(_callback: object) -> None:
        raise OSError("wake-up socket closed")

    monkeypatch.setattr(session._conn.ioloop, "add_callback_threadsafe", broken_wake)
    with caplog.at_level(logging.ERROR), pytest.raises(BrokerUnavailable, match="cannot be woken"):
        publisher.publish(b"2", _properties("two"), timeout=60)
    monkeypatch.undo()
    logged = [r for r in caplog.records if r.getMessage() == "cannot wake the broker link's I/O thread"]
    assert logged
    assert logged[0].exc_info is not None
    publisher.publish(b"3", _properties("three"))


def test_a_forked_child_opens_a_link_of_its_own(publisher: ConfirmedPublisher) -> None:
    """After fork the child forgets the parent's thread, connection and lock (even one held at the
    fork) and connects anew; the parent's link is untouched."""
    publisher.publish(b"parent", _properties("parent"))
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with publisher.link._lock:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    held.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            publisher.publish(b"child", _properties("child"), timeout=10)
            code = 0 if publisher.link._session is not None else 2
        finally:
            os._exit(code)
    release.set()
    holder.join()
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    publisher.publish(b"parent again", _properties("parent-again"))
    assert len(_io_threads(publisher.link)) == 1


def test_a_batch_take_on_a_filling_queue_takes_what_the_queue_held(
    settings: BrokerSettings, publisher: ConfirmedPublisher, topology: Topology
) -> None:
    """A large take streams only what basic.get said the queue holds: messages that keep arriving
    do not hold it (and every take behind it) until it has its maximum."""
    for number in range(6):
        publisher.publish(b"%d" % number, _properties(f"m{number}"))
    getter = MessageGetter(settings, topology, "test")
    stop = threading.Event()

    def keep_publishing() -> None:
        number = 100
        while not stop.is_set():
            publisher.publish(b"%d" % number, _properties(f"m{number}"))
            number += 1
            stop.wait(0.02)

    trickle = threading.Thread(target=keep_publishing)
    trickle.start()
    try:
        taken = getter.take(100)
    finally:
        stop.set()
        trickle.join()
        getter.close()
    bodies = [delivery.body for delivery in taken]
    assert bodies[:6] == [b"%d" % number for number in range(6)]
    # What the queue held when the take began (a message or two may have arrived just before it);
    # a take streaming until it had its maximum would bring 100, one every 20 ms.
    assert len(bodies) < 20


def test_close_answers_a_request_waiting_for_the_first_connection(
    settings: BrokerSettings, topology: Topology
) -> None:
    """A request waiting for a link's first connection when the link is closed is answered at once,
    not when its deadline passes (whatever point of opening the connection close() comes at)."""
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to meet every interleaving
    try:
        for trial in range(60):
            publisher = ConfirmedPublisher(settings, topology, f"close-{trial}")
            request = threading.Thread(target=_wait_ready_quietly, args=(publisher.link,))
            request.start()
            publisher.close()
            request.join(20)
            assert not request.is_alive(), f"trial {trial}: the request still waits after close()"
    finally:
        sys.setswitchinterval(switch_interval)


def _wait_ready_quietly(link: AmqpLink) -> None:
    """Wait up to a minute for the link (BrokerUnavailable is the expected answer after close)."""
    with contextlib.suppress(BrokerUnavailable):
        link.wait_ready(time.monotonic() + 60)
