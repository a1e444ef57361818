"""The rules of Idempotency-Keys, on each real store (SQLite, Redis, PostgreSQL), on a clock of the tests'."""

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from exchange_service.idempotency_ledger import Claim, IdempotencyLedger, KeyConflict, Outcome, Replay
from exchange_service.idempotency_records import KeyRecord, KeyStore, StoreUnavailable, Swap
from exchange_service.idempotency_redis import KEY_PREFIX, RedisKeyStore
from exchange_service.idempotency_sql import SqlKeyStore
from exchange_service.schema import MIGRATIONS
from monty_common.database import upgrade_schema
from support.ports import free_port

WINDOW = timedelta(hours=1)
HOLD = timedelta(seconds=15)
ANSWER = '{"message_id": "m"}'


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        """Start at the real time (Redis expires keys by it)."""
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        """The time."""
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move on by `delta`."""
        self.now += delta


def open_store(url: str) -> KeyStore:
    """The store at `url`, its table made as init-db makes it."""
    if url.startswith("redis"):
        return RedisKeyStore(url)
    upgrade_schema(url, MIGRATIONS)
    return SqlKeyStore(url)


@pytest.fixture
def clock() -> Clock:
    """The ledger's clock."""
    return Clock()


@pytest.fixture
def store(idempotency_url: str) -> Iterator[KeyStore]:
    """Each store."""
    store = open_store(idempotency_url)
    yield store
    store.close()


@pytest.fixture
def ledger(store: KeyStore, clock: Clock) -> IdempotencyLedger:
    """A ledger over each store."""
    return IdempotencyLedger(store, WINDOW, HOLD, clock)


class ReadsFail:
    """A store that stops answering between a claim's insert and its read."""

    def __init__(self, store: KeyStore) -> None:
        """Wrap `store`."""
        self.store = store

    def insert_new(self, records: Sequence[tuple[str, KeyRecord]], now: datetime) -> list[bool]:
        """The store's insert."""
        return self.store.insert_new(records, now)

    def read(self, keys: Sequence[str]) -> list[KeyRecord | None]:
        """Unavailable."""
        raise StoreUnavailable("gone")

    def swap(self, swaps: Sequence[Swap]) -> list[bool]:
        """The store's swap."""
        return self.store.swap(swaps)

    def close(self) -> None:
        """Nothing to release: the store is the fixture's."""


def new_key() -> str:
    """A key no other test uses."""
    return uuid.uuid4().hex


def claim_one(ledger: IdempotencyLedger, key: str, fingerprint: str = "f") -> Claim | Replay:
    """The ledger's answer for one key."""
    return ledger.claim([(key, fingerprint)])[0]


def claimed(found: Claim | Replay) -> Claim:
    """`found`, which must be a claim."""
    assert isinstance(found, Claim), found
    return found


def test_a_confirmed_key_is_replayed(ledger: IdempotencyLedger) -> None:
    """Claimed, confirmed, then claimed again: the first answer comes back."""
    key = new_key()
    first = claimed(claim_one(ledger, key))
    assert first.taken_over is None
    ledger.settle([(first, Outcome.CONFIRMED, ANSWER)])
    assert claim_one(ledger, key) == Replay(ANSWER)


def test_a_key_in_progress_is_refused(ledger: IdempotencyLedger) -> None:
    """While its first request publishes, the key is in use."""
    key = new_key()
    claim_one(ledger, key)
    with pytest.raises(KeyConflict) as conflict:
        claim_one(ledger, key)
    assert conflict.value.in_use
    assert conflict.value.index == 0


@pytest.mark.parametrize("outcome", [None, Outcome.CONFIRMED, Outcome.UNKNOWN])
def test_a_key_reused_for_another_request_is_refused(
    ledger: IdempotencyLedger, outcome: Outcome | None
) -> None:
    """Another fingerprint under the same key is refused, wherever its first request got to."""
    key = new_key()
    first = claimed(claim_one(ledger, key, "first"))
    if outcome is not None:
        ledger.settle([(first, outcome, ANSWER)])
    with pytest.raises(KeyConflict) as conflict:
        claim_one(ledger, key, "second")
    assert not conflict.value.in_use


def test_a_key_not_stored_is_let_go(ledger: IdempotencyLedger) -> None:
    """After a 503 the key is free: the retry publishes anew, under a new id."""
    key = new_key()
    first = claimed(claim_one(ledger, key))
    ledger.settle([(first, Outcome.NOT_STORED, None)])
    second = claimed(claim_one(ledger, key))
    assert second.taken_over is None
    assert second.message_id != first.message_id


def test_an_unknown_outcome_keeps_its_message_id(ledger: IdempotencyLedger) -> None:
    """After a 504 the retry publishes under the first id, and keeps it even if that retry is not
    stored (the first attempt may have been)."""
    key = new_key()
    first = claimed(claim_one(ledger, key))
    ledger.settle([(first, Outcome.UNKNOWN, None)])
    retry = claimed(claim_one(ledger, key))
    assert retry.message_id == first.message_id
    assert retry.taken_over is not None
    ledger.settle([(retry, Outcome.NOT_STORED, None)])
    again = claimed(claim_one(ledger, key))
    assert again.message_id == first.message_id
    ledger.settle([(again, Outcome.CONFIRMED, ANSWER)])
    assert claim_one(ledger, key) == Replay(ANSWER)


def test_a_holder_that_died_is_taken_over_after_its_hold(ledger: IdempotencyLedger, clock: Clock) -> None:
    """A claim never settled (its process killed mid-publish) holds the key until its hold ends;
    then a retry takes it over under the same id, and the late holder can no longer settle it."""
    key = new_key()
    first = claimed(claim_one(ledger, key))
    clock.advance(HOLD - timedelta(seconds=1))
    with pytest.raises(KeyConflict):
        claim_one(ledger, key)
    clock.advance(timedelta(seconds=2))
    retry = claimed(claim_one(ledger, key))
    assert retry.message_id == first.message_id
    ledger.settle([(first, Outcome.NOT_STORED, None)])  # too late: changes nothing
    with pytest.raises(KeyConflict) as conflict:
        claim_one(ledger, key)
    assert conflict.value.in_use


def test_keys_expire_after_the_window(ledger: IdempotencyLedger, clock: Clock) -> None:
    """Past the window a key is forgotten: any request may use it again, under a new id."""
    key = new_key()
    first = claimed(claim_one(ledger, key, "first"))
    ledger.settle([(first, Outcome.CONFIRMED, ANSWER)])
    clock.advance(WINDOW - timedelta(seconds=1))
    assert claim_one(ledger, key, "first") == Replay(ANSWER)
    clock.advance(timedelta(seconds=2))
    later = claimed(claim_one(ledger, key, "second"))
    assert later.taken_over is None
    assert later.message_id != first.message_id


def test_a_conflict_in_a_batch_claims_nothing(ledger: IdempotencyLedger) -> None:
    """One element reused: the request holds none of its keys, and the conflict names the element."""
    free, reused, busy = new_key(), new_key(), new_key()
    ledger.settle([(claimed(claim_one(ledger, reused, "old")), Outcome.CONFIRMED, ANSWER)])
    claim_one(ledger, busy)
    with pytest.raises(KeyConflict) as conflict:
        ledger.claim([(free, "f"), (busy, "f"), (reused, "new")])
    # A key used for another request outweighs one in use, wherever it stands.
    assert (conflict.value.index, conflict.value.in_use) == (2, False)
    assert claimed(claim_one(ledger, free)).taken_over is None


def test_a_batch_backing_out_leaves_an_unknown_key_as_it_was(ledger: IdempotencyLedger) -> None:
    """A 504'd element taken over by a batch that then meets a conflict keeps its message_id."""
    unknown, busy = new_key(), new_key()
    first = claimed(claim_one(ledger, unknown))
    ledger.settle([(first, Outcome.UNKNOWN, None)])
    claim_one(ledger, busy)
    with pytest.raises(KeyConflict):
        ledger.claim([(unknown, "f"), (busy, "f")])
    assert claimed(claim_one(ledger, unknown)).message_id == first.message_id


def test_one_batch_claims_replays_and_takes_over_at_once(ledger: IdempotencyLedger) -> None:
    """Each element is settled on its own: confirmed ones replay, unknown ones keep their id, the
    others are fresh."""
    done, unknown, released, new = new_key(), new_key(), new_key(), new_key()
    first = ledger.claim([(done, "a"), (unknown, "b"), (released, "c")])
    claims = [claimed(found) for found in first]
    ledger.settle(
        [
            (claims[0], Outcome.CONFIRMED, ANSWER),
            (claims[1], Outcome.UNKNOWN, None),
            (claims[2], Outcome.NOT_STORED, None),
        ]
    )
    again = ledger.claim([(done, "a"), (unknown, "b"), (released, "c"), (new, "d")])
    assert again[0] == Replay(ANSWER)
    assert claimed(again[1]).message_id == claims[1].message_id
    assert claimed(again[2]).message_id != claims[2].message_id
    assert claimed(again[3]).taken_over is None


def test_a_store_lost_mid_claim_leaves_no_key_held(
    store: KeyStore, ledger: IdempotencyLedger, clock: Clock
) -> None:
    """The store fails after some keys of a request were claimed: they are let go again, so the
    retry the 503 invites is not told they are in use."""
    fresh, existing = new_key(), new_key()
    claim_one(ledger, existing)
    with pytest.raises(StoreUnavailable):
        IdempotencyLedger(ReadsFail(store), WINDOW, HOLD, clock).claim([(fresh, "f"), (existing, "f")])
    assert claimed(claim_one(ledger, fresh)).taken_over is None


@pytest.mark.parametrize("url", ["redis", "postgresql"])
def test_an_unreachable_store_is_unavailable(url: str) -> None:
    """Nothing listens where the store should be: StoreUnavailable, at once."""
    port = free_port()
    address = (
        f"redis://127.0.0.1:{port}/0" if url == "redis" else f"postgresql+psycopg://u@127.0.0.1:{port}/x"
    )
    store: KeyStore = RedisKeyStore(address) if url == "redis" else SqlKeyStore(address)
    ledger = IdempotencyLedger(store, WINDOW, HOLD)
    try:
        with pytest.raises(StoreUnavailable):
            ledger.claim([(new_key(), "f")])
    finally:
        ledger.close()


def test_expired_rows_are_purged_as_keys_are_claimed(database_url: str, clock: Clock) -> None:
    """A database store deletes expired rows when a key is claimed; live ones stay."""
    ledger = IdempotencyLedger(open_store(database_url), WINDOW, HOLD, clock)
    try:
        for _ in range(3):
            claim_one(ledger, new_key())
        clock.advance(WINDOW / 2)
        claim_one(ledger, new_key())
        clock.advance(WINDOW / 2)
        claim_one(ledger, new_key())
    finally:
        ledger.close()
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT count(*) FROM idempotency_keys")).scalar_one()
    finally:
        engine.dispose()
    assert rows == 2


def test_redis_expires_keys_with_the_window(redis_url: str, clock: Clock) -> None:
    """In Redis a key's record expires with its window (Redis removes it itself)."""
    ledger = IdempotencyLedger(RedisKeyStore(redis_url), WINDOW, HOLD, clock)
    key = new_key()
    try:
        ledger.settle([(claimed(claim_one(ledger, key)), Outcome.CONFIRMED, ANSWER)])
    finally:
        ledger.close()
    client = redis.Redis.from_url(redis_url)
    try:
        left = client.pttl(KEY_PREFIX + key)
        client.delete(KEY_PREFIX + key)
    finally:
        client.close()
    assert WINDOW - timedelta(minutes=1) < timedelta(milliseconds=left) <= WINDOW
