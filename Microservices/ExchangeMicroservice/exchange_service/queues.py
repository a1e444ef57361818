"""The queues the gateway serves by name (today the one configured queue)."""

from collections.abc import Callable
from typing import Any

from exchange_service.settings import ExchangeSettings
from monty_common.problems import ProblemError

QUEUE_PARAMETER = "queue"


def served_queues(settings: ExchangeSettings) -> list[str]:
    """The names of the queues the gateway serves."""
    return [settings.queue]


def known_queue(settings: ExchangeSettings, name: str) -> str:
    """`name` if the gateway serves that queue, else a 404 problem."""
    if name not in served_queues(settings):
        raise ProblemError(
            404, "unknown-queue", "Unknown Queue", f"This gateway serves no queue named {name!r}."
        )
    return name


def document_served_queues(settings: ExchangeSettings) -> Callable[[dict[str, Any]], None]:
    """A document hook listing the served queues as the values of every {queue} path parameter, so
    Swagger UI offers them and clients learn them from the document (others are answered 404)."""

    def hook(spec: dict[str, Any]) -> None:
        for path_item in spec.get("paths", {}).values():
            for operation in path_item.values():
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "path" and parameter.get("name") == QUEUE_PARAMETER:
                        parameter["schema"] = {**parameter["schema"], "enum": served_queues(settings)}

    return hook
