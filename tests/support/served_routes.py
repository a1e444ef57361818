"""The route templates each HTTP service serves, read from apps built by its factory (nothing is
connected: links and databases open on first use)."""

import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from archive_service import create_app as create_archive_app
from archive_service.settings import ArchiveSettings
from auth_service import create_app as create_auth_app
from auth_service.settings import AuthSettings
from exchange_service import create_app as create_exchange_app
from exchange_service.settings import ExchangeSettings
from monty_common.lifecycle import close_app
from support.users import SERVICE_SECRET
from user_service import create_app as create_user_app
from user_service.settings import UserSettings


def served_routes(data_dir: Path) -> dict[str, set[str]]:
    """Each service's route templates ("/Queues/<queue>/ack"), by its Kubernetes Service's name."""
    builds: dict[str, Callable[[], Flask]] = {
        "exchange": lambda: create_exchange_app(
            ExchangeSettings(data_dir=data_dir / "exchange", service_secret=SERVICE_SECRET)
        ),
        "users": lambda: create_user_app(
            UserSettings(data_dir=data_dir / "users", service_secret=SERVICE_SECRET)
        ),
        "auth": lambda: create_auth_app(
            AuthSettings(data_dir=data_dir / "auth", service_secret=SERVICE_SECRET)
        ),
        "archive": lambda: create_archive_app(
            ArchiveSettings(data_dir=data_dir / "archive", service_secret=SERVICE_SECRET)
        ),
    }
    routes: dict[str, set[str]] = {}
    for name, build in builds.items():
        app = build()
        try:
            routes[name] = {rule.rule for rule in app.url_map.iter_rules()}
        finally:
            close_app(app)
    return routes


def sample_path(template: str) -> str:
    """A path the route `template` serves: each <variable> replaced by one segment."""
    return re.sub(r"<[^>]+>", "x", template)
