"""Names unique to one test, so runs and tests never share an exchange or a queue."""

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Names:
    """Exchange, queue and routing key unique to one test."""

    exchange: str
    queue: str
    routing_key: str


def unique_names() -> Names:
    """Fresh names."""
    tag = uuid.uuid4().hex[:12]
    return Names(f"test.{tag}.exchange", f"test-{tag}-queue", f"message-{tag}")
