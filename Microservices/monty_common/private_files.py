"""Files only the service's user may read (keys, secrets), created once even by racing processes."""

import os
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of `path`; if it does not exist, `make()` is written there with 0600 permissions.

    The file appears whole or not at all (written aside, then linked into place), so a process
    starting at the same moment reads either nothing or the complete content, never half of it.
    """
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
        # If another process created it first, its content wins.
        with suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path.read_bytes()
