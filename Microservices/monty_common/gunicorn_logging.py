"""gunicorn's own log (workers booting, signals, errors) in the services' JSON lines."""

from typing import Any

from gunicorn.glogging import Logger

from monty_common.logging_setup import json_formatter


class JsonLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, writing each line as the services' JSON (its access log stays off: the app
    writes its own, monty_common/request_log.py)."""

    def setup(self, cfg: Any) -> None:
        """Set gunicorn's handlers up, then give them the JSON formatter."""
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(json_formatter())
