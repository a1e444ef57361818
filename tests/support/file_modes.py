"""Permission bits of the files services keep, and data directories left open by an earlier version."""

import stat
from pathlib import Path


def mode(path: Path) -> int:
    """The permission bits of `path`."""
    return stat.S_IMODE(path.stat().st_mode)


def modes(directory: Path) -> dict[str, int]:
    """The permission bits of `directory` (as ".") and of every file in it."""
    return {".": mode(directory), **{path.name: mode(path) for path in directory.iterdir()}}


def open_to_everyone(directory: Path) -> None:
    """Make `directory` 0755 and every file in it 0644, as an older version or an image left them."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)


def assert_private(directory: Path) -> None:
    """`directory` is 0700, every file in it 0600 and every folder in it 0700 (what a folder of its
    own holds no one else can reach)."""
    found = modes(directory)
    expected = {name: 0o700 if name == "." or (directory / name).is_dir() else 0o600 for name in found}
    assert found == expected, {name: oct(bits) for name, bits in found.items()}
