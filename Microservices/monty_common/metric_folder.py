"""The folder a server's processes share their metrics through: a new one per server start."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The metric files are memory-mapped and written on every request: in shared memory they never
# reach a disk. Everyone may write there, but mkdtemp makes a folder of a new name, 0700, or fails.
SHARED_MEMORY = Path("/dev/shm")  # noqa: S108


def folder_parent() -> str | None:
    """Where metric folders are made: /dev/shm when this user may write there, else the system's
    temporary folder (None: tempfile's choice, TMPDIR first)."""
    if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK | os.X_OK):
        return str(SHARED_MEMORY)
    return None


@contextmanager
def metric_folder(label: str) -> Iterator[Path]:
    """A new empty folder only this user may enter (0700), its name starting with `label`, removed
    when the block ends in the process that made it.

    No other server can be handed it, whatever data folder, port or process ids they share (replicas
    in containers number their processes alike, so their file names would be the same). A server's
    workers are forked inside the block and leave it when they exit: only its maker removes it.
    """
    folder = Path(tempfile.mkdtemp(prefix=f"{label}-metrics-", dir=folder_parent()))
    maker = os.getpid()
    try:
        yield folder
    finally:
        if os.getpid() == maker:
            shutil.rmtree(folder, ignore_errors=True)
