"""The arguments of the durable queues the stack declares, by MONTY_QUEUE_TYPE, and what a broker's
refusal of them means.

A classic queue lives on one node; a quorum queue is replicated (Raft) across the cluster and keeps a
confirmed message while a majority of its members live. A queue's type is fixed when it is created:
declaring it again with the other type is refused (406 PRECONDITION_FAILED, "inequivalent arg
'x-queue-type'"), so a service finds out at start (serving.py) and its links say so at run time.
"""

import re
from dataclasses import dataclass
from typing import Any, Literal

QueueType = Literal["classic", "quorum"]

# What the broker answers a declaration whose arguments differ from the existing queue's.
PRECONDITION_FAILED = 406
_INEQUIVALENT = re.compile(
    r"inequivalent arg '(?P<arg>[^']+)' for queue '(?P<queue>[^']*)' in vhost '[^']*': "
    r"received (?P<received>.+?) but current is (?P<current>.+)$"
)
# "the value 'quorum' of type 'longstr'", "'quorum'" or "none": the value alone.
_VALUE = re.compile(r"^(?:the value )?'(?P<value>[^']*)'")


def durable_queue_arguments(
    queue_type: QueueType, dead_letter_exchange: str | None = None, dead_letter_routing_key: str | None = None
) -> dict[str, Any]:
    """The arguments of a durable queue of `queue_type`, dead-lettering to `dead_letter_exchange` if given.

    x-queue-type is always named, classic too: a classic queue declared without it is equivalent,
    so queues made before the setting existed are accepted. A quorum queue that dead-letters does so
    at-least-once (it keeps a dead letter until the target queue confirms it), which RabbitMQ allows
    only with x-overflow reject-publish; its default, at-most-once, may lose a dead letter in transit.
    """
    arguments: dict[str, Any] = {"x-queue-type": queue_type}
    if dead_letter_exchange is not None:
        arguments["x-dead-letter-exchange"] = dead_letter_exchange
        if dead_letter_routing_key is not None:
            arguments["x-dead-letter-routing-key"] = dead_letter_routing_key
        if queue_type == "quorum":
            arguments["x-dead-letter-strategy"] = "at-least-once"
            arguments["x-overflow"] = "reject-publish"
    return arguments


@dataclass(frozen=True)
class DurableQueue:
    """A durable queue the stack declares: its name and arguments."""

    name: str
    arguments: dict[str, Any]

    @property
    def queue_type(self) -> str:
        """The type it is declared with."""
        return str(self.arguments.get("x-queue-type", "classic"))


@dataclass(frozen=True)
class QueueMismatch:
    """An existing queue whose arguments differ from the configured ones."""

    queue: str
    argument: str
    existing: str
    configured: str

    def sentence(self) -> str:
        """One line saying what differs and what to do."""
        delete = f"drain it and delete it (`rabbitmqctl delete_queue {self.queue}`)"
        refused = "the broker refuses the declaration (406 PRECONDITION_FAILED)"
        if self.argument == "x-queue-type":
            # A queue declared without the argument is classic.
            existing, configured = (
                value if value != "none" else "classic" for value in (self.existing, self.configured)
            )
            return (
                f"queue '{self.queue}' exists as a {existing} queue but MONTY_QUEUE_TYPE is {configured}, "
                f"and a queue's type cannot be changed in place: {refused}; {delete} so it is declared "
                f"again as {configured}, or set MONTY_QUEUE_TYPE={existing}"
            )
        if self.existing == "none":
            differs = f"exists without {self.argument}, which the service declares as {self.configured}"
        elif self.configured == "none":
            differs = f"exists with {self.argument} {self.existing}, which the service does not declare"
        else:
            differs = f"exists with {self.argument} {self.existing}, the service declares {self.configured}"
        return f"queue '{self.queue}' {differs}: {refused}; {delete} so it is declared again"


def queue_mismatch(reply_code: int, reply_text: str) -> QueueMismatch | None:
    """The mismatch a channel closed with (406 inequivalent arg ...), or None if that is not why."""
    if reply_code != PRECONDITION_FAILED:
        return None
    found = _INEQUIVALENT.search(reply_text)
    if found is None:
        return None
    return QueueMismatch(
        queue=found["queue"],
        argument=found["arg"],
        existing=_value(found["current"]),
        configured=_value(found["received"]),
    )


def _value(text: str) -> str:
    """A value as the broker quotes it ("the value 'x' of type 'longstr'", "'x'", "none"): x or none."""
    found = _VALUE.match(text.strip())
    return found["value"] if found is not None else text.strip().strip('"')
