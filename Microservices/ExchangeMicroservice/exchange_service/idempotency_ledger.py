"""Claiming Idempotency-Keys for requests and settling them with what became of each publish.

The rules live here, over any store (idempotency_redis, idempotency_sql), so every process of every
gateway instance follows them on the records they share. A key is claimed before its message is
published and settled after:

- confirmed: the answer is kept and given again to every retry (replayed);
- not stored (503): the key is let go, and a retry publishes anew;
- outcome unknown (504), or a holder that died mid-publish: the key keeps its message_id, and a retry
  publishes the message again under that id, so it can never be stored under two ids.
"""

import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from exchange_service.idempotency_records import KeyRecord, KeyState, KeyStore, StoreUnavailable, Swap

log = logging.getLogger(__name__)

# Claims raced by another request are tried again this many times before the key counts as in use.
CLAIM_ROUNDS = 3


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claim:
    """A key this request holds: publish under message_id, then settle."""

    key: str
    record: KeyRecord
    # What the key held when it was taken over (a 504, or a holder gone), restored if this request
    # backs out; None for a key claimed afresh.
    taken_over: KeyRecord | None = None

    @property
    def message_id(self) -> str:
        """The id to publish under."""
        return self.record.message_id


@dataclass(frozen=True)
class Replay:
    """A key whose request was confirmed: its answer, to give again."""

    answer: str


class KeyConflict(Exception):
    """Element `index`'s key belongs to another request (reused), or to one still in progress."""

    def __init__(self, index: int, in_use: bool) -> None:
        """Name the element and why."""
        super().__init__(f"element {index}: key {'in use' if in_use else 'reused'}")
        self.index = index
        self.in_use = in_use


@dataclass
class _Attempt:
    """One request's claim on its keys, as it goes."""

    wanted: Sequence[tuple[str, str]]
    # Random, per request: the owner its records carry.
    owner: str
    now: datetime
    found: dict[int, Claim | Replay] = field(default_factory=dict)
    conflicts: list[KeyConflict] = field(default_factory=list)
    # What each element's last change replaced (None: an insert), should it turn out to have worked.
    replaced: dict[int, KeyRecord | None] = field(default_factory=dict)

    def claims(self) -> list[Claim]:
        """The keys claimed so far."""
        return [found for found in self.found.values() if isinstance(found, Claim)]


class Outcome(StrEnum):
    """What became of a claimed key's publish."""

    CONFIRMED = "confirmed"
    NOT_STORED = "not stored"
    UNKNOWN = "unknown"


class IdempotencyLedger:
    """Claims keys and records outcomes in a store every process shares; its clock can be injected."""

    def __init__(
        self,
        store: KeyStore,
        window: timedelta,
        hold: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """Keys live `window` from their first claim; a claim in progress is held for `hold` at most."""
        self._store = store
        self._window = window
        self._hold = hold
        self._clock = clock

    def close(self) -> None:
        """Release the store."""
        self._store.close()

    def claim(self, wanted: Sequence[tuple[str, str]]) -> list[Claim | Replay]:
        """Claim each (key, fingerprint) for this request, or find its answer: all of them or none.

        KeyConflict names the first element whose key was used for another request, else the first
        whose key is held by a request in progress; StoreUnavailable when the store cannot be
        reached. Either way this request then holds no key.
        """
        attempt = _Attempt(wanted, secrets.token_hex(16), self._clock())
        todo = list(range(len(wanted)))
        try:
            for _round in range(CLAIM_ROUNDS):
                if not todo:
                    break
                todo = self._claim_round(attempt, todo)
        except StoreUnavailable:
            self._back_out(attempt.claims())
            raise
        conflicts = attempt.conflicts + [KeyConflict(index, in_use=True) for index in todo]
        if conflicts:
            self._back_out(attempt.claims())
            raise min(conflicts, key=lambda conflict: (conflict.in_use, conflict.index))
        return [attempt.found[index] for index in range(len(wanted))]

    def _claim_round(self, attempt: "_Attempt", todo: list[int]) -> list[int]:
        """Insert `todo`'s keys afresh, then look at those taken and claim what may be; the elements
        raced by another request, to try again."""
        wanted, now = attempt.wanted, attempt.now
        fresh = {index: self._fresh(wanted[index][1], attempt.owner, now) for index in todo}
        attempt.replaced.update(dict.fromkeys(todo))
        inserted = self._store.insert_new([(wanted[index][0], fresh[index]) for index in todo], now)
        for index, done in zip(todo, inserted, strict=True):
            if done:
                attempt.found[index] = Claim(wanted[index][0], fresh[index])
        taken = [index for index, done in zip(todo, inserted, strict=True) if not done]
        again: list[int] = []
        swaps: list[tuple[int, Swap]] = []
        for index, record in zip(taken, self._store.read([wanted[index][0] for index in taken]), strict=True):
            key = wanted[index][0]
            if record is None:
                again.append(index)  # gone since (expired, or let go): insert again
            elif record.expires_at <= now and record.owner != attempt.owner:
                swaps.append((index, (key, record, fresh[index])))
            else:
                found = self._found(attempt, index, record)
                if isinstance(found, KeyRecord):
                    swaps.append((index, (key, record, found)))
                elif isinstance(found, KeyConflict):
                    attempt.conflicts.append(found)
                else:
                    attempt.found[index] = found
        made = self._store.swap([swap for _index, swap in swaps])
        for (index, (key, old, new)), done in zip(swaps, made, strict=True):
            attempt.replaced[index] = old
            if not done:
                again.append(index)  # another request changed it first: look again
            elif new is not None:
                attempt.found[index] = Claim(key, new, _live(old, now))
        return again

    def _found(
        self, attempt: "_Attempt", index: int, record: KeyRecord
    ) -> Claim | Replay | KeyConflict | KeyRecord:
        """What element `index`'s live record means for this request: its own claim, an answer to
        give again, a conflict, or the record to take the key over with."""
        key, fingerprint = attempt.wanted[index]
        if record.owner == attempt.owner:
            # Our own change, made though the store's answer was lost.
            return Claim(key, record, _live(attempt.replaced[index], attempt.now))
        if record.fingerprint != fingerprint:
            return KeyConflict(index, in_use=False)
        if record.state is KeyState.DONE:
            return Replay(record.answer or "")
        if record.state is KeyState.PENDING and record.lease_until > attempt.now:
            return KeyConflict(index, in_use=True)
        # A 504, or a holder gone: publish again under the record's message_id.
        return replace(
            record, state=KeyState.PENDING, owner=attempt.owner, lease_until=attempt.now + self._hold
        )

    def settle(self, outcomes: Sequence[tuple[Claim, Outcome, str | None]]) -> None:
        """Record what became of each claim's publish (with its answer when confirmed).

        A failure is logged, not raised: the client's answer stands, and a key left in progress is
        taken over, under its message_id, once its hold ends.
        """
        swaps: list[Swap] = []
        for claim, outcome, answer in outcomes:
            new: KeyRecord | None
            if outcome is Outcome.CONFIRMED:
                new = replace(claim.record, state=KeyState.DONE, answer=answer)
            elif outcome is Outcome.UNKNOWN or claim.taken_over is not None:
                # Possibly stored (now or by an earlier attempt): keep the id for the retry.
                new = replace(claim.record, state=KeyState.UNKNOWN)
            else:
                new = None
            swaps.append((claim.key, claim.record, new))
        self._swap_logged(swaps, "settle")

    def _back_out(self, claims: Sequence[Claim]) -> None:
        """Give up claims made for a request that publishes nothing: each key holds what it held."""
        self._swap_logged([(claim.key, claim.record, claim.taken_over) for claim in claims], "back out of")

    def _swap_logged(self, swaps: Sequence[Swap], what: str) -> None:
        """Make `swaps`, logging (not raising) a store failure or a key another request took over."""
        if not swaps:
            return
        try:
            made = self._store.swap(swaps)
        except StoreUnavailable:
            log.exception(
                "could not %s %d idempotency keys: each is taken over when its hold ends", what, len(swaps)
            )
            return
        if not all(made):
            log.warning(
                "%d idempotency keys changed hands before this request could %s them", made.count(False), what
            )

    def _fresh(self, fingerprint: str, owner: str, now: datetime) -> KeyRecord:
        """A new claim on a key: in progress, under a new message_id."""
        return KeyRecord(
            fingerprint=fingerprint,
            state=KeyState.PENDING,
            message_id=str(uuid.uuid4()),
            owner=owner,
            lease_until=now + self._hold,
            expires_at=now + self._window,
        )


def _live(record: KeyRecord | None, now: datetime) -> KeyRecord | None:
    """`record` if it had not expired by `now` (a claim then takes it over), else None (a fresh claim)."""
    return record if record is not None and record.expires_at > now else None
