"""SQLite engines: connections open even while another process holds the file."""

import sqlite3
from pathlib import Path

from sqlalchemy import text

from monty_common.database import make_engine


def test_a_connection_opens_while_another_holds_the_file_before_wal(tmp_path: Path) -> None:
    """A new database is still in rollback-journal mode, and another process is reading it (servers
    starting together): switching to WAL is refused, but the connection opens anyway and works."""
    path = tmp_path / "busy.db"
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("CREATE TABLE t (x INTEGER)")
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM t").fetchall()  # a read lock, held
    engine = make_engine(f"sqlite:///{path}", lock_wait=0.2)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        engine.dispose()
        reader.execute("COMMIT")
        reader.close()
    # Once nobody holds it, the next connection switches the file to WAL.
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()
