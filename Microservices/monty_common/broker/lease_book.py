"""The leases one channel holds: messages handed out unacknowledged, each with its expiry timer.

Everything here runs on the link's I/O thread, so the book needs no lock: an ack, an extension
and an expiry of one lease are ordered by the loop, and exactly one of them settles it.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from monty_common.broker.takes import Delivery
from monty_common.broker.timers import Timer

# Bytes a lease is counted for beside its body (its properties, timer and bookkeeping), so that
# leases of tiny messages are bounded too.
LEASE_OVERHEAD = 1024


@dataclass(frozen=True)
class Outcome:
    """What became of one receipt: status 200, or a problem's status, slug and detail."""

    status: int
    slug: str | None = None
    detail: str | None = None
    # With an extension: seconds from now until the lease expires.
    expires_in: float | None = None

    @property
    def ok(self) -> bool:
        """Whether it was done."""
        return self.status == 200


DONE = Outcome(200)
GONE = Outcome(
    410,
    "lease-gone",
    "The lease has expired, was settled already, or its holder lost its connection: the message "
    "is (or was) delivered again.",
)
NOT_YOURS = Outcome(403, "not-your-lease", "Another user received this message.")


@dataclass(eq=False)
class Lease:
    """A message handed out and not settled yet."""

    delivery: Delivery
    owner: str
    delivery_count: int
    started: float  # time.monotonic() when handed out
    timer: Timer | None = None
    # Set once an expiry or a release has begun: nothing else may settle it.
    releasing: bool = False
    size: int = field(init=False)

    def __post_init__(self) -> None:
        """Remember its size, for the holder's byte budget: its body and what holding it costs."""
        self.size = len(self.delivery.body) + LEASE_OVERHEAD


class LeaseBook:
    """The unsettled leases of the current channel, by delivery tag."""

    def __init__(self, max_lifetime: float) -> None:
        """No lease yet; none may be held longer than `max_lifetime` seconds in all."""
        self._max_lifetime = max_lifetime
        self._leases: dict[int, Lease] = {}
        self.held_bytes = 0  # read from request threads (a gauge)

    def __len__(self) -> int:
        """How many leases are held."""
        return len(self._leases)

    def hold(self, loop: Any, lease: Lease, visibility: float, on_expiry: Callable[[Lease], None]) -> None:
        """Hold `lease` for `visibility` seconds; then `on_expiry` gets it, unless settled first."""
        self._leases[lease.delivery.delivery_tag] = lease
        self.held_bytes += lease.size
        lease.timer = Timer(loop, visibility, lambda: self._expire(lease, on_expiry))

    def _expire(self, lease: Lease, on_expiry: Callable[[Lease], None]) -> None:
        """The visibility is over: the lease is being released."""
        lease.timer = None
        if self._leases.get(lease.delivery.delivery_tag) is lease and not lease.releasing:
            lease.releasing = True
            on_expiry(lease)

    def _find(self, tag: int, owner: str) -> Lease | Outcome:
        """The settleable lease of `tag` held for `owner`, or why there is none."""
        lease = self._leases.get(tag)
        if lease is None or lease.releasing:
            return GONE
        if lease.owner != owner:
            return NOT_YOURS
        return lease

    def ack(self, channel: Any, tag: int, owner: str) -> Outcome:
        """Acknowledge the message: it is done with."""
        found = self._find(tag, owner)
        if isinstance(found, Outcome):
            return found
        self._drop(found)
        channel.basic_ack(tag)
        return DONE

    def extend(self, loop: Any, tag: int, owner: str, visibility: float) -> Outcome:
        """Make the lease expire `visibility` seconds from now (within its lifetime)."""
        found = self._find(tag, owner)
        if isinstance(found, Outcome):
            return found
        left = found.started + self._max_lifetime - time.monotonic()
        if visibility > left:
            return Outcome(
                422,
                "lease-too-long",
                f"A lease lasts at most {self._max_lifetime:.0f} s in all; this one has {max(left, 0):.0f} s "
                "left. Ask for less, or release it and receive it again.",
            )
        if found.timer is not None:
            on_expiry = found.timer.callback
            found.timer.cancel()
            found.timer = Timer(loop, visibility, on_expiry)
        return Outcome(200, expires_in=visibility)

    def begin_release(self, tag: int, owner: str) -> Lease | Outcome:
        """Claim the lease for a release (its copy is published elsewhere, then `finish`)."""
        found = self._find(tag, owner)
        if isinstance(found, Lease):
            found.releasing = True
            if found.timer is not None:
                found.timer.cancel()
                found.timer = None
        return found

    def finish(self, channel: Any, lease: Lease, copied: bool) -> None:
        """End a release: ack the original once its copy is stored, else put it back in its queue.

        A lease of an earlier channel is left alone: the broker requeued it when that channel closed.
        """
        tag = lease.delivery.delivery_tag
        if self._leases.get(tag) is not lease:
            return
        self._drop(lease)
        if copied:
            channel.basic_ack(tag)
        else:
            channel.basic_nack(tag, requeue=True)

    def _drop(self, lease: Lease) -> None:
        """Forget `lease` and stop its timer."""
        del self._leases[lease.delivery.delivery_tag]
        self.held_bytes -= lease.size
        if lease.timer is not None:
            lease.timer.cancel()
            lease.timer = None

    def lost(self) -> None:
        """The channel is gone, and with it every lease (the broker requeues their messages)."""
        for lease in self._leases.values():
            if lease.timer is not None:
                lease.timer.cancel()
        self._leases.clear()
        self.held_bytes = 0
