"""Leasing messages to HTTP clients: at-least-once consumption whose settling may reach any process.

A lease is a delivery kept unacknowledged on the holder's channel, so the message never lives only
in the gateway's memory: if the process or its connection dies, the broker puts it back. An ack
acknowledges it; a release (nack, or the lease expiring) publishes a copy carrying its delivery
count and last error back to the queue (or, after max_deliveries, to the dead-letter queue),
confirmed, and only then acknowledges the original. Requests for a lease held by another process
go to that process's inbox (lease_inbox.py) over the broker.
"""

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monty_common.broker.errors import BrokerUnavailable, OutcomeUnknown, PublishRejected
from monty_common.broker.getter import MessageGetter
from monty_common.broker.jobs import settle
from monty_common.broker.lease_book import DONE, GONE, Lease, LeaseBook, Outcome
from monty_common.broker.lease_copies import delivery_count, released_copy
from monty_common.broker.lease_inbox import Inbox, Reply
from monty_common.broker.publisher import ConfirmedPublisher, Route
from monty_common.broker.takes import Delivery
from monty_common.broker.topology import Topology, dead_letter_queue_of
from monty_common.settings import BrokerSettings

log = logging.getLogger(__name__)

# Threads publishing the copies of released leases (expiries, and releases asked of this process).
RELEASE_THREADS = 4


@dataclass(frozen=True)
class LeasePolicy:
    """How long leases may last and how often a message is delivered before it is dead-lettered."""

    max_deliveries: int
    max_lifetime: float


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


class LeaseHolder:
    """Leases messages of the topology's queue on a link of its own, and settles leases by receipt.

    Request threads call `receive`, `ack`, `release` and `extend`; the book and the inbox live on
    the link's I/O thread.
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
        self._inbox = Inbox(self._on_request)
        self._getter = MessageGetter(settings, topology, service, "leases", companion=self)
        self.link = self._getter.link
        self._lock = threading.Lock()  # guards _releases
        self._releases: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Close the link for good (its leases go back to the queue) and stop releasing."""
        self.link.close()
        with self._lock:
            releases, self._releases = self._releases, None
        if releases is not None:
            releases.shutdown(wait=False, cancel_futures=True)

    @property
    def waiting(self) -> int:
        """Receives waiting for a message now (a gauge)."""
        return self._getter.waiting

    @property
    def held_bytes(self) -> int:
        """Bytes of the messages this process holds under lease (a gauge)."""
        return self._book.held_bytes

    # --- request threads ---------------------------------------------------------------------------

    def receive(
        self,
        limit: int,
        wait: float,
        visibility: float,
        owner: str,
        max_bytes: int | None = None,
        still_wanted: Callable[[], bool] | None = None,
    ) -> list[Leased]:
        """Lease up to `limit` messages to `owner` for `visibility` seconds, waiting up to `wait`
        seconds for the first; messages delivered too often go to the dead-letter queue instead."""
        # Where and when the leases began, noted by the I/O thread as it starts their timers.
        held: list[tuple[str, float]] = []

        def keep(channel: Any, deliveries: list[Delivery]) -> None:
            held.append((self._inbox.name or "", time.time()))
            self._keep(channel, deliveries, owner, visibility)

        deliveries = self._getter.take(limit, wait, max_bytes=max_bytes, still_wanted=still_wanted, keep=keep)
        if not deliveries:
            return []
        holder, began = held[0]
        expires_at = datetime.fromtimestamp(began + visibility, UTC)
        return [
            Leased(delivery, count, LeaseRef(holder, delivery.delivery_tag), expires_at)
            for delivery, count in ((delivery, delivery_count(delivery)) for delivery in deliveries)
            if count <= self._policy.max_deliveries
        ]

    def ack(self, refs: list[LeaseRef], owner: str) -> list[Outcome]:
        """Acknowledge the leased messages: they are done with."""
        return self._settle("ack", refs, owner, {})

    def extend(self, refs: list[LeaseRef], owner: str, visibility: float) -> list[Outcome]:
        """Let the leases expire `visibility` seconds from now."""
        return self._settle("extend", refs, owner, {"visibility": visibility})

    def release(
        self, refs: list[LeaseRef], owner: str, delay: int = 0, error: str | None = None
    ) -> list[Outcome]:
        """Give the messages back as a failed delivery, visible again after `delay` seconds, with `error`."""
        return self._settle("release", refs, owner, {"delay": delay, "error": error})

    def _settle(self, op: str, refs: list[LeaseRef], owner: str, params: dict[str, Any]) -> list[Outcome]:
        """Settle each lease, here or by asking its holder; one outcome per ref, in order."""
        deadline = time.monotonic() + self.link.settings.broker_timeout
        self.link.wait_ready(deadline)
        by_holder: dict[str, list[int]] = defaultdict(list)
        for number, ref in enumerate(refs):
            by_holder[ref.holder].append(number)
        outcomes: list[Outcome] = [GONE] * len(refs)
        for holder, numbers in by_holder.items():
            request = {"op": op, "owner": owner, "tags": [refs[number].tag for number in numbers], **params}
            for number, outcome in zip(numbers, self._settle_at(holder, request, deadline), strict=True):
                outcomes[number] = outcome
        return outcomes

    def _settle_at(self, holder: str, request: dict[str, Any], deadline: float) -> list[Outcome]:
        """Carry out `request` for `holder`'s leases: here if this process holds them, else there."""
        count = len(request["tags"])
        timeout = max(0.0, deadline - time.monotonic())
        try:
            if holder == self._inbox.name:
                return self._settle_here(request, timeout)
            answer: list[Outcome] | None = self.link.call(
                lambda channel, future: self._inbox.forward(channel, holder, request, future, timeout),
                timeout,
            )
        except OutcomeUnknown as error:
            return [
                Outcome(504, "lease-outcome-unknown", f"The lease's holder did not answer in time ({error}).")
            ] * count
        except BrokerUnavailable as error:
            return [
                Outcome(503, "broker-unavailable", f"The lease's holder cannot be reached ({error}).")
            ] * count
        if answer is None or len(answer) != count:
            return [GONE] * count  # no such holder any more: its leases went back to the queue
        return answer

    def _settle_here(self, request: dict[str, Any], timeout: float) -> list[Outcome]:
        """Carry out a request for this process's own leases (request thread)."""
        if request["op"] != "release":
            outcomes: list[Outcome] = self.link.call(
                lambda channel, future: settle(future, self._serve(channel, request)), timeout
            )
            return outcomes
        claimed: list[Lease | Outcome] = self.link.call(
            lambda channel, future: settle(future, self._claim(request)), timeout
        )
        return [self._release(item, request) if isinstance(item, Lease) else item for item in claimed]

    # --- the I/O thread ----------------------------------------------------------------------------

    def prepare(self, channel: Any, done: Callable[[], None]) -> None:
        """Open the inbox on the new channel (the getter has set the channel up)."""
        self._inbox.prepare(channel, done)

    def lost(self, reason: str) -> None:
        """The channel is gone, and with it every lease and the inbox."""
        self._book.lost()
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
        """A lease's time is up: release the message in the background."""
        self._submit(lambda: self._release(lease, {"delay": 0, "error": None}))

    def _serve(self, channel: Any, request: dict[str, Any]) -> list[Outcome]:
        """Acks and extensions, carried out at once."""
        owner, tags = request["owner"], request["tags"]
        if request["op"] == "ack":
            return [self._book.ack(channel, tag, owner) for tag in tags]
        visibility = float(request["visibility"])
        return [self._book.extend(channel.connection.ioloop, tag, owner, visibility) for tag in tags]

    def _claim(self, request: dict[str, Any]) -> list[Lease | Outcome]:
        """Claim the leases a release names."""
        return [self._book.begin_release(tag, request["owner"]) for tag in request["tags"]]

    def _on_request(self, channel: Any, request: dict[str, Any], reply: Reply) -> None:
        """Serve a request from another process: at once, or (releases) after publishing the copies."""
        if request.get("op") != "release":
            reply(channel, self._serve(channel, request))
            return
        claimed = self._claim(request)

        def release_and_reply() -> None:
            outcomes = [self._release(item, request) if isinstance(item, Lease) else item for item in claimed]

            def send(channel: Any, future: "Future[None]") -> None:
                reply(channel, outcomes)
                settle(future, None)

            with suppress(BrokerUnavailable):  # if it fails, the requester's timeout answers for us
                self.link.call(send)

        self._submit(release_and_reply)

    # --- releasing (a request thread or a release thread) ------------------------------------------

    def _submit(self, task: Callable[[], object]) -> None:
        """Run `task` on a release thread (started on first use: after the server forks)."""
        with self._lock:
            if self._releases is None:
                self._releases = ThreadPoolExecutor(RELEASE_THREADS, thread_name_prefix="lease-release")
            releases = self._releases
        releases.submit(_logged(task))

    def _release(self, lease: Lease, request: dict[str, Any]) -> Outcome:
        """Publish the message's copy (back to its queue, or dead-lettered), then ack the original.

        If the copy cannot be stored the original is put back as it is, so nothing is ever lost;
        only its delivery count and error are.
        """
        dead = lease.delivery_count >= self._policy.max_deliveries
        body, properties = released_copy(lease, self.queue, request.get("error"), dead)
        route = Route.to_queue(dead_letter_queue_of(self.queue) if dead else self.queue)
        try:
            self._publisher.publish(body, properties, route=route)
            copied = True
        except (BrokerUnavailable, PublishRejected) as error:
            log.warning("released message not copied; putting it back", extra={"error": str(error)})
            copied = False

        # If the channel is gone, the broker has put the original back already.
        def finish(channel: Any, future: "Future[None]") -> None:
            self._book.finish(channel, lease, copied)
            settle(future, None)

        with suppress(BrokerUnavailable):
            self.link.call(finish)
        return DONE


def _logged(task: Callable[[], object]) -> Callable[[], None]:
    """`task`, logging what escapes it (a release thread has nobody else to tell)."""

    def run() -> None:
        try:
            task()
        except Exception:
            log.exception("lease release failed")

    return run
