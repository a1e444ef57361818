"""One server process at a time prepares the database: migrations and the first admin."""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "startup.lock"


@contextmanager
def startup_lock(data_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on data_dir/startup.lock while the block runs.

    gunicorn's workers build their apps at the same moment; without turns they would race to
    create the same tables (and Alembic's context is global, so even threads must take turns).
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(data_dir / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
