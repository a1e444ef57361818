"""What an idempotency store keeps per key, and what every store offers the ledger."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class KeyState(StrEnum):
    """Where the request that claimed a key has got to."""

    # Publishing now (until lease_until; past it, the holder is taken to have died mid-publish).
    PENDING = "pending"
    # Sent but not confirmed (504): the message may be stored under message_id.
    UNKNOWN = "unknown"
    # Confirmed: answer holds what was answered.
    DONE = "done"


@dataclass(frozen=True)
class KeyRecord:
    """One key's record: the request it was claimed for, where that request got to, its answer."""

    fingerprint: str
    state: KeyState
    message_id: str
    # Random, per claim: a store changes a record only if it still holds the owner and state the
    # changer read (compare and swap), so a request that lost its claim cannot overwrite another's.
    owner: str
    lease_until: datetime
    expires_at: datetime
    answer: str | None = None


# A change a store makes only if the key still holds `old` (same owner and state): `new`, or the key
# removed when new is None.
Swap = tuple[str, KeyRecord, KeyRecord | None]


class StoreUnavailable(Exception):
    """The idempotency store could not be reached or did not answer in time."""


class KeyStore(Protocol):
    """Records by key, with the few atomic operations claiming needs; StoreUnavailable on failure."""

    def insert_new(self, records: Sequence[tuple[str, KeyRecord]], now: datetime) -> list[bool]:
        """Store each record whose key holds none (or an expired one, which may be purged); which were."""

    def read(self, keys: Sequence[str]) -> list[KeyRecord | None]:
        """The record of each key (None when there is none)."""

    def swap(self, swaps: Sequence[Swap]) -> list[bool]:
        """Make each change whose key still holds its old record; which were made."""

    def close(self) -> None:
        """Release the store's connections."""
