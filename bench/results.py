"""The run's JSON record: machine, settings, every measurement and the ratios."""

import json
import os
import platform
import shutil
import subprocess
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from measure import Measurement


def _cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _command_output(command: list[str]) -> str | None:
    """The first line a command prints, or None if it cannot run."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else None


def _wrk_version() -> str | None:
    """wrk's version ('wrk 4.1.0'), without its build notes and copyright."""
    if shutil.which("wrk") is None:
        return None
    line = _command_output(["wrk", "-v"])
    return line.split(" [")[0] if line else None


def machine_info(broker: str, root: Path) -> dict[str, object]:
    """What the figures were measured on: cores, CPU, load, Python, broker, wrk, commit, date."""
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "rabbitmq": broker,
        "wrk": _wrk_version(),
        "git_commit": _command_output(["git", "-C", str(root), "rev-parse", "HEAD"]),
    }


def write_results(folder: Path, record: dict[str, object], measurements: list[Measurement]) -> Path:
    """Write bench-<timestamp>.json and a copy as latest.json in `folder`; return the first's path."""
    folder.mkdir(parents=True, exist_ok=True)
    document = record | {"measurements": [asdict(m) for m in measurements]}
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    path = folder / f"bench-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(text)
    (folder / "latest.json").write_text(text)
    return path
