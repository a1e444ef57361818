"""Process-wide logging: one JSON object per line on standard error."""

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


def json_formatter() -> JsonFormatter:
    """The one shape of every log line: time, level, logger, process and message, plus any extras."""
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s", rename_fields={"levelname": "level"}
    )


def configure_logging(level: str) -> None:
    """Send every log record to stderr as JSON; calling it again only changes the level."""
    root = logging.getLogger()
    root.setLevel(level)
    if any(getattr(h, "monty", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter())
    handler.monty = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    # pika logs every reconnect attempt at ERROR with a stack trace; our links log one line instead.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
