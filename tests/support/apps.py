"""Building service apps from their factories in tests, and closing every one afterwards."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask_openapi3.openapi import OpenAPI

from exchange_service import create_app as create_exchange_app
from exchange_service.schema import init_database as init_exchange_database
from exchange_service.settings import ExchangeSettings
from monty_common.lifecycle import close_app
from support.names import Names
from support.queue_types import tested_queue_type
from support.users import SERVICE_SECRET


class AppBuilder:
    """Calls a service's create_app with its settings built from defaults and per-call overrides."""

    def __init__(
        self,
        create_app: Callable[[Any], OpenAPI],
        settings_class: Callable[..., Any],
        defaults: dict[str, Any],
        prepare: Callable[[OpenAPI], None] | None = None,
        before_create: Callable[[Any], None] | None = None,
    ) -> None:
        """Remember how to build; `before_create` runs with the settings of every app before it is
        built (a service's init-db), `prepare` on every app built."""
        self._create_app = create_app
        self._settings_class = settings_class
        self._defaults = defaults
        self._prepare = prepare
        self._before_create = before_create
        self._apps: list[OpenAPI] = []

    def __call__(self, **overrides: Any) -> OpenAPI:
        """A new app with the defaults changed by `overrides`."""
        settings = self._settings_class(**{**self._defaults, **overrides})
        if self._before_create is not None:
            self._before_create(settings)
        app = self._create_app(settings)
        if self._prepare is not None:
            self._prepare(app)
        self._apps.append(app)
        return app

    def close_all(self) -> None:
        """Release what every app built holds."""
        for app in self._apps:
            close_app(app)


def exchange_app_builder(
    amqp_url: str,
    names: Names,
    jwks_url: str,
    data_dir: Path,
    prepare: Callable[[OpenAPI], None] | None = None,
) -> AppBuilder:
    """Builds exchange apps on `names`, trusting the keys published at `jwks_url`, keeping their files
    (the idempotency store, prepared as init-db does) in `data_dir`."""
    return AppBuilder(
        create_exchange_app,
        ExchangeSettings,
        {
            "amqp_url": amqp_url,
            "exchange": names.exchange,
            "queue": names.queue,
            "routing_key": names.routing_key,
            "queue_type": tested_queue_type(),
            "jwks_url": jwks_url,
            "service_secret": SERVICE_SECRET,
            # No user service here: tokens are not checked for revocation (tests/stack does that).
            "users_url": "",
            "data_dir": data_dir,
        },
        prepare,
        before_create=init_exchange_database,
    )
