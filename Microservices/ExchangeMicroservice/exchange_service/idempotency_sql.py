"""The idempotency store in a database (the embedded SQLite file, or PostgreSQL): one table."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Table, and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from exchange_service.idempotency_records import KeyRecord, KeyState, StoreUnavailable, Swap
from exchange_service.models import IdempotencyKey
from monty_common.database import make_engine

T = TypeVar("T")
TABLE = cast(Table, IdempotencyKey.__table__)


def _row(key: str, record: KeyRecord) -> dict[str, Any]:
    """The table row of `record` under `key`."""
    return {
        "key": key,
        "fingerprint": record.fingerprint,
        "state": record.state.value,
        "message_id": record.message_id,
        "owner": record.owner,
        "lease_until": record.lease_until,
        "expires_at": record.expires_at,
        "answer": record.answer,
    }


def _record(row: Any) -> KeyRecord:
    """The record a row holds."""
    return KeyRecord(
        fingerprint=row.fingerprint,
        state=KeyState(row.state),
        message_id=row.message_id,
        owner=row.owner,
        lease_until=row.lease_until,
        expires_at=row.expires_at,
        answer=row.answer,
    )


class SqlKeyStore:
    """Keys as rows: inserted unless present, changed by a conditional UPDATE, purged once expired.

    Each operation is one transaction, touching rows in key order so that concurrent ones never
    wait on each other in a cycle.
    """

    def __init__(self, url: str) -> None:
        """An engine for `url` (connections open on first use); init-db has created the table."""
        self._engine = make_engine(url)
        dialect = self._engine.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    def close(self) -> None:
        """Close the engine's connections."""
        self._engine.dispose()

    def insert_new(self, records: Sequence[tuple[str, KeyRecord]], now: datetime) -> list[bool]:
        """Purge expired rows, then insert each record whose key has no row."""
        if not records:
            return []

        def insert(connection: Connection) -> set[str]:
            connection.execute(delete(TABLE).where(TABLE.c.expires_at <= now))
            statement = self._insert(TABLE).on_conflict_do_nothing(index_elements=["key"])
            rows = [_row(key, record) for key, record in sorted(records, key=lambda item: item[0])]
            return set(connection.execute(statement.returning(TABLE.c.key), rows).scalars())

        inserted = self._run(insert)
        return [key in inserted for key, _record in records]

    def read(self, keys: Sequence[str]) -> list[KeyRecord | None]:
        """The rows of `keys`."""
        if not keys:
            return []

        def read(connection: Connection) -> dict[str, KeyRecord]:
            rows = connection.execute(select(TABLE).where(TABLE.c.key.in_(keys)))
            return {row.key: _record(row) for row in rows}

        found = self._run(read)
        return [found.get(key) for key in keys]

    def swap(self, swaps: Sequence[Swap]) -> list[bool]:
        """Each change as an UPDATE (or DELETE) of the row still holding the old owner and state."""
        if not swaps:
            return []

        def change(connection: Connection) -> dict[int, bool]:
            made: dict[int, bool] = {}
            for position in sorted(range(len(swaps)), key=lambda at: swaps[at][0]):
                key, old, new = swaps[position]
                still = and_(TABLE.c.key == key, TABLE.c.owner == old.owner, TABLE.c.state == old.state.value)
                if new is None:
                    result = connection.execute(delete(TABLE).where(still))
                else:
                    values = _row(key, new)
                    del values["key"]
                    result = connection.execute(update(TABLE).where(still).values(values))
                made[position] = result.rowcount == 1
            return made

        made = self._run(change)
        return [made[position] for position in range(len(swaps))]

    def _run(self, work: Callable[[Connection], T]) -> T:
        """`work` in one transaction, database errors raised as StoreUnavailable."""
        try:
            with self._engine.begin() as connection:
                return work(connection)
        except SQLAlchemyError as error:
            raise StoreUnavailable(f"database: {type(error).__name__}") from error
