"""The queues the gateway serves by name (today the one configured queue)."""

from exchange_service.settings import ExchangeSettings
from monty_common.problems import ProblemError


def known_queue(settings: ExchangeSettings, name: str) -> str:
    """`name` if the gateway serves that queue, else a 404 problem."""
    if name != settings.queue:
        raise ProblemError(
            404, "unknown-queue", "Unknown Queue", f"This gateway serves no queue named {name!r}."
        )
    return name
