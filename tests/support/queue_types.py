"""The queue type tests run with (MONTY_TEST_QUEUE_TYPE, classic unless set), and asking a broker
which type its queues are.

`MONTY_TEST_QUEUE_TYPE=quorum pytest tests/leases ...` runs those tests with every service, and
every queue the tests declare themselves, on quorum queues.
"""

import os
import subprocess
from typing import Any

from monty_common.broker.queue_types import QueueType, durable_queue_arguments


def tested_queue_type() -> QueueType:
    """The queue type tests configure services with."""
    value = os.environ.get("MONTY_TEST_QUEUE_TYPE", "classic")
    if value not in ("classic", "quorum"):
        raise ValueError(f"MONTY_TEST_QUEUE_TYPE is {value!r}, not classic or quorum")
    return "quorum" if value == "quorum" else "classic"


def tested_queue_arguments() -> dict[str, Any]:
    """The arguments a service of the test queue type declares a queue without dead-lettering with."""
    return durable_queue_arguments(tested_queue_type())


def queue_types(node: str | None = None, env: dict[str, str] | None = None) -> dict[str, str]:
    """Every queue of the broker (the machine's, or node `node`) and its type, as rabbitmqctl says:
    a passive declare does not tell the type."""
    command = ["rabbitmqctl", *(["-n", node] if node else []), "list_queues", "name", "type"]
    result = subprocess.run(
        [*command, "--no-table-headers", "--quiet"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    types: dict[str, str] = {}
    for line in result.stdout.splitlines():
        name, _, kind = line.rpartition("\t")
        if name:
            types[name] = kind.strip()
    return types
