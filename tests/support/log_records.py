"""A service's JSON log lines, read back from its log file."""

import json
from typing import Any

from support.polling import wait_until
from support.processes import ServiceProcess


def log_records(process: ServiceProcess) -> list[dict[str, Any]]:
    """Every JSON log line `process` wrote so far, as objects (other output is skipped)."""
    records = []
    for line in process.output().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if isinstance(record, dict):
                records.append(record)
    return records


def logged_with_id(process: ServiceProcess, request_id: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The log lines carrying `request_id`, once there is one (failing after `timeout` s)."""
    found: list[dict[str, Any]] = []

    def logged() -> bool:
        found[:] = [record for record in log_records(process) if record.get("request_id") == request_id]
        return bool(found)

    wait_until(logged, timeout, f"a log line with request id {request_id}", 0.1)
    return found
