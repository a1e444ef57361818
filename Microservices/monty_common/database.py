"""SQLAlchemy engines and Alembic migrations, shared by the services that keep a database."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from flask import Flask
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monty_common.extension import Extension
from monty_common.private_files import create_private, make_private, private_directory

# Files SQLite keeps beside a database; it creates each with the database file's own mode.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def sqlite_url(data_dir: Path, filename: str) -> str:
    """The URL of an SQLite file under `data_dir` (the embedded default); the directory is made 0700."""
    private_directory(data_dir)
    return f"sqlite:///{(data_dir / filename).resolve()}"


def keep_sqlite_private(url: str) -> None:
    """Make an SQLite database file, and the journals beside it, 0600 (creating the file if missing).

    Run before SQLite opens the file: the journals it creates later take the file's mode, so they are
    private too. Other databases, and in-memory SQLite, are left alone.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database)
    if not path.parent.is_dir():
        return  # SQLite will say so itself
    create_private(path)
    for suffix in SQLITE_COMPANIONS:
        make_private(path.with_name(path.name + suffix))


# How long a request's statement waits for an SQLite lock; preparing a database at start (init-db),
# where several servers may start at once on a busy machine, waits longer.
REQUEST_LOCK_WAIT = 5.0
START_LOCK_WAIT = 60.0


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers work beside a writer; waiting beats failing when the file is busy."""
    cursor = dbapi_connection.cursor()
    # The mode is kept in the file: switching (which waits for every other connection to let go)
    # is needed once per database, not on every connection of every process.
    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        # SQLite answers "locked" at once, without waiting, while another process is between
        # statements that need the file as it is (servers starting together): that process, or a
        # later connection, makes the switch; this one works on in the mode the file has.
        with suppress(sqlite3.OperationalError):
            cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, lock_wait: float = REQUEST_LOCK_WAIT) -> Engine:
    """An engine for `url` (SQLite file or PostgreSQL through psycopg 3); on SQLite a statement waits
    up to `lock_wait` seconds for another process's lock on the file before it fails."""
    if url.startswith("sqlite"):
        keep_sqlite_private(url)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": lock_wait}, hide_parameters=True
        )
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    # Statement parameters (password hashes among them) never reach logs or error messages.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=5,
        hide_parameters=True,
        # An unreachable server fails a connection in seconds instead of stalling its caller.
        connect_args={"connect_timeout": 5},
    )


def upgrade_schema(url: str, migrations: Path, revision: str = "head") -> None:
    """Apply the Alembic migrations in `migrations` to the database at `url`, up to `revision` (all
    of them by default)."""
    keep_sqlite_private(url)
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, revision)


class Database:
    """Flask extension owning an app's engine and session factory."""

    def __init__(self, key: str = "monty.database") -> None:
        """Unbound: each app gets its own engine in init_app."""
        self._sessions = Extension[sessionmaker[Session]](key)

    def init_app(self, app: Flask, url: str) -> None:
        """Create the engine; connections open on first use and are released when the app closes."""
        engine = make_engine(url)
        self._sessions.init_app(app, sessionmaker(engine, expire_on_commit=False), close=engine.dispose)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed when the block ends, rolled back on error."""
        with self._sessions.get().begin() as session:
            yield session

    def readiness(self) -> dict[str, str]:
        """{"database": "ok"} when the database answers SELECT 1, else why it does not."""
        try:
            with self.session() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            # The class name says enough; the message may carry the database URL.
            return {"database": f"unavailable ({type(error).__name__})"}
        return {"database": "ok"}
