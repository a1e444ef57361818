"""Counting guesses (logins, password checks) before they are checked, and giving successes back.

A guess is counted before its password is checked, so a burst of parallel guesses gets no further
than the limit allows; a success then gives its count back, so only failures (and guesses still
being checked) use a limit up, and the owner's own logins never lock the owner out. The counts
live in `limits` storage: memory (one process) or Redis (shared by every process).
"""

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import SlidingWindowCounterSupport, Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from monty_common.problems import ProblemError


def parse_limit(text: str) -> RateLimitItem:
    """A limit such as "5 per minute" (ValueError if it is not one)."""
    return parse(text)


@dataclass(frozen=True)
class AttemptLimit:
    """At most `limit.amount` attempts counted under `key` in any window of `limit`'s length."""

    limit: RateLimitItem
    key: str


class TooManyAttempts(Exception):
    """A limit is used up; `retry_after` seconds from now, it will have room again."""

    def __init__(self, retry_after: int) -> None:
        """Say when to come back."""
        super().__init__(f"too many attempts; retry after {retry_after} s")
        self.retry_after = retry_after


class CountsUnavailable(Exception):
    """The storage holding the counts cannot be reached."""


@dataclass
class CountedAttempt:
    """An attempt counted under some limits, which `AttemptCounter.give_back` uncounts."""

    limits: list[AttemptLimit] = field(default_factory=list)


class AttemptCounter:
    """Counts attempts per key in sliding windows, in the storage `storage_uri` names.

    The sliding-window counter (unlike the moving window) can take a count back: a success hits
    each of its limits again with a cost of -1.
    """

    def __init__(self, storage_uri: str) -> None:
        """Open the storage: memory:// or redis://host:port/db."""
        storage = storage_from_string(storage_uri, wrap_exceptions=True)
        if not isinstance(storage, Storage) or not isinstance(storage, SlidingWindowCounterSupport):
            raise ValueError(f"{storage_uri!r} is no storage for sliding-window counts (memory or Redis)")
        self._storage = storage
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        base = storage.base_exceptions
        # What the storage raises when it cannot be reached (a Redis error, say).
        self._failures: tuple[type[Exception], ...] = (
            StorageError,
            *(base if isinstance(base, tuple) else (base,)),
        )

    def count(self, strict: Sequence[AttemptLimit], lenient: Sequence[AttemptLimit] = ()) -> CountedAttempt:
        """Count one attempt under every limit, or under none (TooManyAttempts) if a strict one is
        used up; a used-up lenient limit does not refuse the attempt (nor count it)."""
        counted = CountedAttempt()
        try:
            for limit in strict:
                if not self._limiter.hit(limit.limit, limit.key):
                    # A refused attempt checks nothing: it counts nowhere.
                    self.give_back(counted)
                    raise TooManyAttempts(self._retry_after(limit))
                counted.limits.append(limit)
            for limit in lenient:
                if self._limiter.hit(limit.limit, limit.key):
                    counted.limits.append(limit)
        except self._failures as error:
            self.give_back(counted)
            raise CountsUnavailable(f"attempt counts unavailable: {type(error).__name__}") from None
        return counted

    def give_back(self, counted: CountedAttempt) -> None:
        """Uncount an attempt that turned out not to be a failed guess (a success, or never checked)."""
        for limit in counted.limits:
            # A give-back lost to a storage failure expires with its window, costing one attempt.
            with contextlib.suppress(*self._failures):
                key, period = limit.limit.key_for(limit.key), limit.limit.get_expiry()
                # Counted just before the window moved on, the attempt now weighs in the previous
                # window, where nothing can take it back: taking one off the new window instead
                # would make room for an extra guess. It is left to fade with its window.
                if self._storage.get_sliding_window(key, period)[2] > 0:
                    self._limiter.hit(limit.limit, limit.key, cost=-1)
        counted.limits.clear()

    def is_unused(self, limit: AttemptLimit) -> bool:
        """Whether no attempt is counted under `limit` in the window's current and previous periods
        (so for one to two periods after the last one)."""
        try:
            key, period = limit.limit.key_for(limit.key), limit.limit.get_expiry()
            window = self._storage.get_sliding_window(key, period)
        except self._failures as error:
            raise CountsUnavailable(f"attempt counts unavailable: {type(error).__name__}") from None
        previous_count, _, current_count, _ = window
        return previous_count + current_count <= 0

    def _retry_after(self, limit: AttemptLimit) -> int:
        """Whole seconds until `limit` has room for one more attempt (at least 1)."""
        reset_at = self._limiter.get_window_stats(limit.limit, limit.key).reset_time
        return max(1, math.ceil(reset_at - time.time()))


def counted_or_refused(
    count: Callable[[], CountedAttempt], refused: ProblemError, what: str, retry_after: int
) -> CountedAttempt:
    """`count()`, or the problem a client gets: `refused` (with its Retry-After) when a limit is used
    up, 503 when the counts cannot be reached (then nothing `what` names is checked uncounted)."""
    try:
        return count()
    except TooManyAttempts as error:
        refused.headers["Retry-After"] = str(error.retry_after)
        raise refused from None
    except CountsUnavailable as error:
        raise ProblemError(
            503,
            "throttle-unavailable",
            "Service Unavailable",
            f"{what} cannot be counted now, so none is checked ({error}).",
            {"Retry-After": str(retry_after)},
        ) from None
