"""Leasing messages to HTTP clients: at-least-once consumption whose settling may reach any process.

A lease is a delivery kept unacknowledged on the holder's channel, so the message never lives only
in the gateway's memory: if the process or its connection dies, the broker puts it back. An ack
acknowledges it; a release (nack, or the lease expiring) publishes a copy carrying its delivery
count and last error back to the queue (or, after max_deliveries, to the dead-letter queue),
confirmed, and only then acknowledges the original. Requests for a lease held by another process
go to that process's inbox (lease_inbox.py) over the broker.

Every request names the holder it is meant for, and the I/O thread checks it against its current
inbox: delivery tags start again at 1 on each channel, so a request made before a reconnect must
not settle what the new channel holds under the same tag.
"""

import enum
import logging
import os
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monty_common import metrics
from monty_common.broker.ack_barrier import AckBarrier
from monty_common.broker.errors import BrokerUnavailable, OutcomeUnknown, PublishRejected
from monty_common.broker.getter import MessageGetter
from monty_common.broker.jobs import settle
from monty_common.broker.lease_book import DONE, GONE, Lease, LeaseBook, Outcome
from monty_common.broker.lease_budget import LeaseBudget
from monty_common.broker.lease_copies import delivery_count, released_copy
from monty_common.broker.lease_inbox import Inbox, Request
from monty_common.broker.publisher import ConfirmedPublisher, Route
from monty_common.broker.takes import Delivery
from monty_common.broker.topology import Topology, dead_letter_queue_of
from monty_common.settings import BrokerSettings

log = logging.getLogger(__name__)

# Threads publishing the copies of released leases (expiries, and releases asked of this process).
RELEASE_THREADS = 4
# Every holder of this process, so a forked child can start its own release threads.
_HOLDERS: "weakref.WeakSet[LeaseHolder]" = weakref.WeakSet()

NOT_COPIED = Outcome(
    503,
    "broker-unavailable",
    "The broker did not take the message's copy: it was put back as it was, without this delivery "
    "counted or its error kept.",
)


class Op(enum.StrEnum):
    """What a request does to the leases it names."""

    ACK = "ack"
    EXTEND = "extend"
    RELEASE = "release"


@dataclass(frozen=True)
class LeasePolicy:
    """How long leases last, how often a message is delivered before it is dead-lettered, and how
    many bytes of leased messages one process holds."""

    max_deliveries: int
    max_lifetime: float
    max_leased_bytes: int


@dataclass(frozen=True)
class LeaseRef:
    """Which lease a receipt names: the holder's inbox and the delivery tag on its channel."""

    holder: str
    tag: int


@dataclass(frozen=True)
class Leased:
    """A message handed out under a lease."""

    delivery: Delivery
    delivery_count: int
    ref: LeaseRef
    expires_at: datetime


@dataclass(frozen=True)
class _Kept:
    """Where and when a receive's leases began, as the I/O thread started their timers."""

    holder: str
    began: float


class LeaseHolder:
    """Leases messages of the topology's queue on a link of its own, and settles leases by receipt.

    Request threads call `receive`, `ack`, `release` and `extend`; the book and the inbox live on
    the link's I/O thread; copies of released messages are published on release threads.
    """

    def __init__(
        self,
        settings: BrokerSettings,
        topology: Topology,
        service: str,
        publisher: ConfirmedPublisher,
        policy: LeasePolicy,
    ) -> None:
        """A holder whose link connects on first use; copies of released messages go through `publisher`."""
        self.queue = topology.queue
        self._policy = policy
        self._publisher = publisher
        self._book = LeaseBook(policy.max_lifetime)
        self._budget = LeaseBudget(policy.max_leased_bytes, lambda: self._book.held_bytes)
        self._inbox = Inbox(self._on_request)
        self._acks_read = AckBarrier()
        self._getter = MessageGetter(settings, topology, service, "leases", companion=self)
        self.link = self._getter.link
        self._start_release_threads()
        _HOLDERS.add(self)

    def _start_release_threads(self) -> None:
        """A pool of release threads (its threads start on first use, so after the server forks)."""
        self._releases = ThreadPoolExecutor(RELEASE_THREADS, thread_name_prefix="lease-release")

    def close(self) -> None:
        """Finish the releases under way, then close the link for good: the leases it holds go back
        to the queue as they are (the broker requeues what a closed channel held unacknowledged)."""
        # A release publishes a copy, then acks the original on the link: closing the link between
        # the two would leave both in the queue. Releases not started are dropped: their originals
        # go back with the link.
        self._releases.shutdown(wait=True, cancel_futures=True)
        self.link.close()

    def end_waits(self) -> None:
        """Answer every receive waiting for a message now; none waits from now on (the server is stopping)."""
        self._getter.end_waits()

    @property
    def waiting(self) -> int:
        """Receives waiting for a message now (a gauge)."""
        return self._getter.waiting

    @property
    def held_bytes(self) -> int:
        """Bytes this process holds under lease, bodies and per-lease overhead (a gauge)."""
        return self._book.held_bytes

    # --- request threads ---------------------------------------------------------------------------

    def receive(
        self,
        limit: int,
        wait: float,
        visibility: float,
        owner: str,
        max_bytes: int,
        still_wanted: Callable[[], bool] | None = None,
    ) -> list[Leased]:
        """Lease up to `limit` messages to `owner` for `visibility` seconds, waiting up to `wait`
        seconds for the first, ending once their bodies pass `max_bytes` or the process's lease
        budget (LeaseCapacityExceeded when that is spent); messages delivered too often go to the
        dead-letter queue instead."""
        kept: list[_Kept] = []

        def keep(channel: Any, deliveries: list[Delivery]) -> None:
            kept.append(_Kept(self._inbox.name or "", time.time()))
            self._keep(channel, deliveries, owner, visibility)

        granted = self._budget.grant(max_bytes)
        try:
            deliveries = self._getter.take(
                limit, wait, max_bytes=granted, still_wanted=still_wanted, keep=keep
            )
        finally:
            self._budget.give_back(granted)
        if not deliveries:
            return []
        expires_at = datetime.fromtimestamp(kept[0].began + visibility, UTC)
        leased = []
        for delivery in deliveries:
            count = delivery_count(delivery)
            if count <= self._policy.max_deliveries:
                leased.append(
                    Leased(delivery, count, LeaseRef(kept[0].holder, delivery.delivery_tag), expires_at)
                )
        return leased

    def ack(self, refs: list[LeaseRef], owner: str) -> list[Outcome]:
        """Acknowledge the leased messages: they are done with."""
        return self._settle(Op.ACK, refs, owner, {})

    def extend(self, refs: list[LeaseRef], owner: str, visibility: float) -> list[Outcome]:
        """Let the leases expire `visibility` seconds from now."""
        return self._settle(Op.EXTEND, refs, owner, {"visibility": visibility})

    def release(
        self, refs: list[LeaseRef], owner: str, delay: int = 0, error: str | None = None
    ) -> list[Outcome]:
        """Give the messages back as a failed delivery, visible again after `delay` seconds, with `error`."""
        return self._settle(Op.RELEASE, refs, owner, {"delay": delay, "error": error})

    def _settle(self, op: Op, refs: list[LeaseRef], owner: str, params: dict[str, Any]) -> list[Outcome]:
        """Settle each lease, here or by asking its holder, every holder at once; one outcome per ref.

        Once started, a request is carried out whether or not this thread waits for its answer: a
        holder answering too late makes its receipts 504 (outcome unknown), never undone.
        """
        deadline = time.monotonic() + self.link.settings.broker_timeout
        by_holder: dict[str, list[int]] = defaultdict(list)
        for number, ref in enumerate(refs):
            by_holder[ref.holder].append(number)
        requests = [
            Request(op, holder, owner, [refs[number].tag for number in numbers], params)
            for holder, numbers in by_holder.items()
        ]
        timeout = max(0.0, deadline - time.monotonic())

        def start(channel: Any, started: "Future[list[Future[list[Outcome] | None]]]") -> None:
            if not started.set_running_or_notify_cancel():
                return  # given up before anything was asked
            answers: list[Future[list[Outcome] | None]] = []
            for request in requests:
                answer: Future[list[Outcome] | None] = Future()
                if request.holder == self._inbox.name:  # checked again where it is carried out
                    self._carry_out(channel, request, answer)
                else:
                    self._inbox.forward(channel, request, answer, timeout)
                answers.append(answer)
            settle(started, answers)

        outcomes: list[Outcome] = [GONE] * len(refs)
        try:
            answers = self.link.call(start, timeout)
        except BrokerUnavailable as error:
            unknown = isinstance(error, OutcomeUnknown)
            return [_unanswered(error, unknown)] * len(refs)
        for numbers, answer in zip(by_holder.values(), answers, strict=True):
            for number, outcome in zip(numbers, _answer(answer, len(numbers), deadline), strict=True):
                outcomes[number] = outcome
        return outcomes

    # --- the I/O thread ----------------------------------------------------------------------------

    def prepare(self, channel: Any, done: Callable[[], None]) -> None:
        """Open the inbox on the new channel (the getter has set the channel up)."""
        self._inbox.prepare(channel, done)

    def lost(self, reason: str) -> None:
        """The channel is gone, and with it every lease and the inbox."""
        self._book.lost()
        self._acks_read.lost()
        self._inbox.lost(reason)

    def _keep(self, channel: Any, deliveries: list[Delivery], owner: str, visibility: float) -> None:
        """Hold what a receive took; what was delivered too often is dead-lettered at once."""
        loop = channel.connection.ioloop
        for delivery in deliveries:
            lease = Lease(delivery, owner, delivery_count(delivery), time.monotonic())
            self._book.hold(loop, lease, visibility, self._expired)
            if lease.delivery_count > self._policy.max_deliveries:
                self._book.begin_release(delivery.delivery_tag, owner)
                self._expired(lease)

    def _expired(self, lease: Lease) -> None:
        """A lease's time is up: release the message in the background (unless the holder is closing:
        the message then goes back with its link)."""
        if lease.delivery_count <= self._policy.max_deliveries:  # not one dead-lettered on receipt
            metrics.add(metrics.instruments().leases, "expired")
        with suppress(RuntimeError):  # no new release once closing
            self._releases.submit(_logged(lambda: self._release(lease, 0, None)))

    def _on_request(self, channel: Any, request: Request, reply: Callable[[list[Outcome]], None]) -> None:
        """Carry out a request from another process and answer it once done."""
        answer: Future[list[Outcome] | None] = Future()
        answer.add_done_callback(lambda done: reply(done.result() or [GONE] * len(request.tags)))
        self._carry_out(channel, request, answer)

    def _carry_out(self, channel: Any, request: Request, answer: "Future[list[Outcome] | None]") -> None:
        """Do what `request` asks of this process's leases; `answer` gets the outcomes.

        Acks are answered once the broker has answered a call made after them on the channel, so it
        has read them; releases once their copies are stored.
        """
        if request.holder != self._inbox.name:
            settle(answer, None)  # meant for this process before a reconnect: those leases are gone
            return
        op = Op(request.op)
        if op is Op.ACK:
            outcomes = [self._book.ack(channel, tag, request.owner) for tag in request.tags]
            self._acks_read.after_acks(channel, lambda: settle(answer, outcomes))
        elif op is Op.EXTEND:
            visibility = float(request.params["visibility"])
            loop = channel.connection.ioloop
            settle(answer, [self._book.extend(loop, tag, request.owner, visibility) for tag in request.tags])
        else:
            claimed = [self._book.begin_release(tag, request.owner) for tag in request.tags]
            self._release_all(claimed, request.params, answer)

    def _release_all(
        self, claimed: list[Lease | Outcome], params: dict[str, Any], answer: "Future[list[Outcome] | None]"
    ) -> None:
        """Release the claimed leases on release threads; `answer` gets every outcome once all are done."""
        delay, error = int(params.get("delay") or 0), params.get("error")
        results: list[Future[Outcome]] = []
        for item in claimed:
            result: Future[Outcome] = Future()
            if isinstance(item, Lease):
                try:
                    result = self._releases.submit(self._release, item, delay, error)
                except RuntimeError:  # closing: the original goes back with the link, as it is
                    settle(result, NOT_COPIED)
            else:
                settle(result, item)
            results.append(result)
        _when_all_done(results, lambda outcomes: settle(answer, outcomes))

    # --- releasing (a release thread) -------------------------------------------------------------

    def _release(self, lease: Lease, delay: int, error: str | None) -> Outcome:
        """Publish the message's copy (back to its queue, or dead-lettered), then ack the original.

        If the copy cannot be stored the original is put back as it is, so nothing is ever lost;
        only this delivery's count and error are.
        """
        dead = lease.delivery_count >= self._policy.max_deliveries
        body, properties = released_copy(lease, self.queue, error, dead)
        route = Route.to_queue(dead_letter_queue_of(self.queue) if dead else self.queue)
        try:
            self._publisher.publish(body, properties, route=route, delay=0 if dead else delay)
            copied = True
        except (BrokerUnavailable, PublishRejected) as problem:
            log.warning("released message not copied; putting it back", extra={"error": str(problem)})
            copied = False

        def finish(channel: Any, future: "Future[None]") -> None:
            self._book.finish(channel, lease, copied)
            settle(future, None)

        with suppress(BrokerUnavailable):  # if the channel is gone, the broker has put the original back
            self.link.call(finish)
        if copied and dead:
            metrics.add(metrics.instruments().leases, "dead_lettered")
        return DONE if copied else NOT_COPIED


def _when_all_done(results: "list[Future[Outcome]]", then: Callable[[list[Outcome]], None]) -> None:
    """Call `then` with every result, on whichever thread finishes the last one."""
    lock = threading.Lock()
    left = [len(results)]

    def one_done(_result: "Future[Outcome]") -> None:
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            # A release dropped unstarted at close was not copied: its original goes back as it is.
            then(
                [
                    NOT_COPIED if result.cancelled() or result.exception() else result.result()
                    for result in results
                ]
            )

    for result in results:
        result.add_done_callback(one_done)


def _answer(answer: "Future[list[Outcome] | None]", count: int, deadline: float) -> list[Outcome]:
    """One holder's outcomes, waiting for them until `deadline`."""
    try:
        outcomes = answer.result(timeout=max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        return [_unanswered(OutcomeUnknown("the lease's holder did not answer in time"), True)] * count
    except BrokerUnavailable as error:
        return [_unanswered(error, isinstance(error, OutcomeUnknown))] * count
    if outcomes is None or len(outcomes) != count:
        return [GONE] * count  # no such holder any more: its leases went back to the queue
    return outcomes


def _unanswered(error: BrokerUnavailable, unknown: bool) -> Outcome:
    """A receipt's outcome when its holder could not be asked (503) or did not answer (504)."""
    if unknown:
        return Outcome(504, "lease-outcome-unknown", f"The lease's holder did not answer in time ({error}).")
    return Outcome(503, "broker-unavailable", f"The lease's holder cannot be reached ({error}).")


def _logged(task: Callable[[], object]) -> Callable[[], None]:
    """`task`, logging what escapes it (a release thread has nobody else to tell)."""

    def run() -> None:
        try:
            task()
        except Exception:
            log.exception("lease release failed")

    return run


def _new_release_threads_in_child() -> None:
    """In a forked child: the parent's release threads do not exist here."""
    for holder in list(_HOLDERS):
        holder._start_release_threads()


os.register_at_fork(after_in_child=_new_release_threads_in_child)
