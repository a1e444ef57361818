"""Files only the service's user may read (keys, secrets, databases), in a directory only it may enter.

Modes are enforced on what exists too, not only on what is created: a data directory made by hand or
by an image (0755), or files an earlier version left 0644, are tightened, saying so in the log.
"""

import logging
import os
import stat
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
PRIVATE_DIRECTORY = 0o700


def private_directory(path: Path) -> Path:
    """`path`, created 0700 (with its parents) or made 0700 if others may read or enter it."""
    path.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    _restrict(path, PRIVATE_DIRECTORY)
    return path


def make_private(path: Path) -> None:
    """Make the file at `path` 0600 if others may read it; a missing file stays missing."""
    _restrict(path, PRIVATE_FILE)


def create_private(path: Path) -> None:
    """Create `path` empty and 0600 unless it exists; make it 0600 if it does."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    make_private(path)


def _restrict(path: Path, mode: int) -> None:
    """chmod `path` to `mode` when its group or others have any access; refuse clearly if we cannot."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if not current & 0o077:
        return
    try:
        path.chmod(mode)
    except PermissionError:
        raise PermissionError(
            f"{path} is open to other users (mode {current:04o}) and this user cannot change it: "
            f"make it {mode:04o} and owned by the service's user"
        ) from None
    log.warning(
        "made a file private", extra={"path": str(path), "was": f"{current:04o}", "now": f"{mode:04o}"}
    )


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of `path`; if it does not exist, `make()` is written there with 0600 permissions.

    The file appears whole or not at all (written aside, then linked into place), so a process
    starting at the same moment reads either nothing or the complete content, never half of it.
    An existing file others may read is made 0600 first.
    """
    private_directory(path.parent)
    if path.exists():
        make_private(path)
        return path.read_bytes()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
        # If another process created it first, its content wins.
        with suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path.read_bytes()
