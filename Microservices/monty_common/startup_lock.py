"""One process at a time prepares a service's database (migrations, first records)."""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def startup_lock(data_dir: Path, name: str) -> Iterator[None]:
    """Hold an exclusive lock on data_dir/<name>.lock while the block runs.

    A server's workers (and a service's other processes) start at the same moment; without turns
    they would race to create the same tables, and Alembic's context is global, so even threads
    must take turns.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(data_dir / f"{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
