"""Showing the settings that bound the queue routes in the OpenAPI document: which queues there are,
and the longest visibility."""

from collections.abc import Callable
from typing import Any

from exchange_service.settings import ExchangeSettings


def document_queue_settings(settings: ExchangeSettings) -> Callable[[dict[str, Any]], None]:
    """A doc hook naming the served queues in every {queue} parameter and the visibility's maximum."""

    def hook(document: dict[str, Any]) -> None:
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "path" and parameter["name"] == "queue":
                        parameter["schema"]["enum"] = [settings.queue]
                    elif parameter["in"] == "query" and parameter["name"] == "visibility":
                        parameter["schema"]["maximum"] = settings.max_visibility
        extend = document.get("components", {}).get("schemas", {}).get("ExtendBody")
        if extend is not None:
            extend["properties"]["visibility"]["maximum"] = settings.max_visibility

    return hook
