"""The idempotency store in Redis: one JSON record per key, expiring with its window."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from exchange_service.idempotency_records import KeyRecord, KeyState, StoreUnavailable, Swap

KEY_PREFIX = "monty:idempotency:"
# Seconds to connect, and to wait for an answer, before the store counts as unavailable.
TIMEOUT = 5.0

# Compare and swap: change the key only if it still holds the owner and state the caller read
# (ARGV[1], ARGV[2]); ARGV[3] is the new record (with its expiry in ms, ARGV[4]), or "" to delete.
_SWAP = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local record = cjson.decode(current)
if record.owner ~= ARGV[1] or record.state ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('DEL', KEYS[1])
else redis.call('SET', KEYS[1], ARGV[3], 'PXAT', ARGV[4]) end
return 1
"""


def _ms(moment: datetime) -> int:
    """`moment` in milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


def _encode(record: KeyRecord) -> str:
    """A record as the JSON text the key holds."""
    return json.dumps(
        {
            "fingerprint": record.fingerprint,
            "state": record.state.value,
            "message_id": record.message_id,
            "owner": record.owner,
            "lease_until": _ms(record.lease_until),
            "expires_at": _ms(record.expires_at),
            "answer": record.answer,
        }
    )


def _decode(text: bytes) -> KeyRecord:
    """The record a key's JSON text holds."""
    fields: dict[str, Any] = json.loads(text)
    return KeyRecord(
        fingerprint=fields["fingerprint"],
        state=KeyState(fields["state"]),
        message_id=fields["message_id"],
        owner=fields["owner"],
        lease_until=datetime.fromtimestamp(fields["lease_until"] / 1000, UTC),
        expires_at=datetime.fromtimestamp(fields["expires_at"] / 1000, UTC),
        answer=fields["answer"],
    )


class RedisKeyStore:
    """Keys in Redis: SET NX claims one, a Lua compare-and-swap changes it, Redis expires it."""

    def __init__(self, url: str) -> None:
        """A client of `url`; it connects on first use (after the server forks) and reconnects."""
        self._client = redis.Redis.from_url(
            url,
            socket_connect_timeout=TIMEOUT,
            socket_timeout=TIMEOUT,
            # A dropped connection is opened again once, at once; a server that is down fails fast.
            retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), 1),
        )
        self._swap = self._client.register_script(_SWAP)

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    def insert_new(self, records: Sequence[tuple[str, KeyRecord]], now: datetime) -> list[bool]:
        """SET NX each record, expiring at its expires_at (Redis removes expired keys itself)."""
        pipe = self._client.pipeline(transaction=False)
        for key, record in records:
            pipe.set(KEY_PREFIX + key, _encode(record), nx=True, pxat=_ms(record.expires_at))
        return [bool(done) for done in self._run(pipe.execute)]

    def read(self, keys: Sequence[str]) -> list[KeyRecord | None]:
        """The records of `keys`."""
        if not keys:
            return []
        values: list[bytes | None] = self._run(lambda: self._client.mget([KEY_PREFIX + key for key in keys]))
        return [None if value is None else _decode(value) for value in values]

    def swap(self, swaps: Sequence[Swap]) -> list[bool]:
        """Each compare-and-swap, in one round trip."""
        pipe = self._client.pipeline(transaction=False)
        for key, old, new in swaps:
            expiry = "0" if new is None else str(_ms(new.expires_at))
            self._swap(
                keys=[KEY_PREFIX + key],
                args=[old.owner, old.state.value, "" if new is None else _encode(new), expiry],
                client=pipe,
            )
        return [done == 1 for done in self._run(pipe.execute)]

    def _run(self, command: Any) -> Any:
        """`command()`, its Redis errors raised as StoreUnavailable."""
        try:
            return command()
        except redis.RedisError as error:
            raise StoreUnavailable(f"Redis: {type(error).__name__}") from error
