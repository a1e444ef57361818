"""CPU seconds a process tree has used, read from /proc (Linux)."""

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself hold spaces or parentheses.
    return text[text.rindex(")") + 2 :].split()


def _children() -> dict[int, list[int]]:
    """Every running process's children, by parent pid."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree_cpu_seconds(root: int) -> float:
    """User plus system time of `root` and all its descendants, and of the children it has reaped.

    A worker that exits during a run leaves its whole time in its parent's cutime/cstime, so adding
    those keeps a before/after difference right even when gunicorn (or granian) replaces a worker.
    """
    children = _children()
    ticks = 0
    pending = [root]
    while pending:
        pid = pending.pop()
        fields = _stat_fields(pid)
        if fields is None:
            continue
        # Fields 14-17 of stat(5): utime, stime, cutime, cstime; `fields` starts at field 3.
        ticks += int(fields[11]) + int(fields[12])
        if pid == root:
            ticks += int(fields[13]) + int(fields[14])
        pending.extend(children.get(pid, []))
    return ticks / CLOCK_TICKS


def own_cpu_seconds() -> float:
    """User plus system time of this process (for the in-process pika loops)."""
    times = os.times()
    return times.user + times.system
