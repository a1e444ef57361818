"""Files holding secrets or data, and their directory, are the service user's alone, whatever existed."""

from pathlib import Path

from sqlalchemy import text

from monty_common.database import make_engine, sqlite_url
from monty_common.private_files import private_directory, read_or_create
from support.file_modes import assert_private, mode, open_to_everyone


def test_a_directory_is_created_private_or_made_private(tmp_path: Path) -> None:
    """A new directory is 0700; an existing 0755 one is tightened to 0700."""
    assert mode(private_directory(tmp_path / "new" / "data")) == 0o700
    existing = tmp_path / "existing"
    open_to_everyone(existing)
    private_directory(existing)
    assert mode(existing) == 0o700


def test_an_existing_secret_file_is_made_private_when_read(tmp_path: Path) -> None:
    """A secret left 0644 by an earlier version keeps its content and becomes 0600."""
    open_to_everyone(tmp_path)
    (tmp_path / "secret").write_bytes(b"kept")
    (tmp_path / "secret").chmod(0o644)
    assert read_or_create(tmp_path / "secret", lambda: b"new") == b"kept"
    assert mode(tmp_path / "secret") == 0o600
    assert read_or_create(tmp_path / "made", lambda: b"new") == b"new"
    assert_private(tmp_path)


def test_sqlite_files_are_private_in_an_existing_open_directory(tmp_path: Path) -> None:
    """The database and its -wal and -shm files are 0600 even where the directory was 0755."""
    data = tmp_path / "data"
    open_to_everyone(data)
    engine = make_engine(sqlite_url(data, "service.db"))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:
            connection.execute(text("SELECT x FROM t"))
            assert {path.name for path in data.iterdir()} == {
                "service.db",
                "service.db-wal",
                "service.db-shm",
            }
            assert_private(data)
    finally:
        engine.dispose()


def test_sqlite_files_left_open_by_an_earlier_version_are_made_private(tmp_path: Path) -> None:
    """A database and journals left 0644 are 0600 once an engine is made for them (any path)."""
    database = tmp_path / "elsewhere" / "kept.db"
    database.parent.mkdir()
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").touch()
    engine.dispose()
    open_to_everyone(database.parent)
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT x FROM t"))
        files = {path.name: mode(path) for path in database.parent.iterdir()}
        assert files == {"kept.db": 0o600, "kept.db-wal": 0o600, "kept.db-shm": 0o600}
        # A directory the operator named in a URL is theirs: only the service's own data_dir is tightened.
        assert mode(database.parent) == 0o755
    finally:
        engine.dispose()
