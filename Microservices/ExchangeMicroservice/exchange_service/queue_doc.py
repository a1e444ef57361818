"""Showing the settings that bound the queue routes in the OpenAPI document: which queues there are,
and the longest visibility."""

from collections.abc import Callable
from typing import Any

from exchange_service.settings import ExchangeSettings


def document_queue_settings(settings: ExchangeSettings) -> Callable[[dict[str, Any]], None]:
    """A doc hook naming the served queues in every {queue} parameter, and the maxima of
    visibility and a nack's delay."""

    def hook(document: dict[str, Any]) -> None:
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "path" and parameter["name"] == "queue":
                        parameter["schema"]["enum"] = [settings.queue]
                    elif parameter["in"] == "query" and parameter["name"] == "visibility":
                        parameter["schema"]["maximum"] = settings.max_visibility
        schemas = document.get("components", {}).get("schemas", {})
        if "ExtendBody" in schemas:
            schemas["ExtendBody"]["properties"]["visibility"]["maximum"] = settings.max_visibility
        if "NackBody" in schemas:
            schemas["NackBody"]["properties"]["delay"]["maximum"] = settings.max_delay

    return hook
