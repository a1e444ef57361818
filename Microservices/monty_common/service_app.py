"""What every service's create_app starts with: logging, the OpenAPI app, its settings, a body cap."""

from typing import TypeVar

from werkzeug.middleware.proxy_fix import ProxyFix

from monty_common.draining import Drain, server_drain
from monty_common.extension import Extension
from monty_common.json_provider import StrictJSONProvider
from monty_common.logging_setup import configure_logging
from monty_common.metrics import register_metrics
from monty_common.openapi_app import MontyOpenAPI, new_openapi_app
from monty_common.request_ids import register_request_ids
from monty_common.request_log import register_request_log
from monty_common.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)

API_VERSION = "1.0.0"

service_settings = Extension[ServiceSettings]("monty.settings")


def new_service_app(
    import_name: str, title: str, settings: ServiceSettings, max_body_bytes: int
) -> MontyOpenAPI:
    """An app documented as `title`, holding `settings`, refusing bodies over `max_body_bytes`."""
    configure_logging(settings.log_level)
    app = new_openapi_app(import_name, title, API_VERSION)
    # Werkzeug refuses a larger body (413) before any view reads it.
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.json = StrictJSONProvider(app, settings.json_max_depth)
    register_request_ids(app)
    # Inside ProxyFix (wrapped before it), so the access log names the client, not the proxy.
    register_request_log(app)
    if settings.trusted_proxies:
        # Behind N proxies, the client is the address the Nth-last of them saw, not the proxy:
        # without this, every client behind one proxy would share one login counter. Headers a
        # client sends itself are believed only as far as trusted proxies appended to them.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    service_settings.init_app(app, settings)
    server_drain.init_app(app, Drain(settings.drain_seconds))
    register_metrics(app, import_name.split(".")[0].removesuffix("_service"), settings)
    return app


def current_settings(settings_class: type[S]) -> S:
    """The current app's settings, which must be a `settings_class`."""
    settings = service_settings.get()
    if not isinstance(settings, settings_class):
        raise TypeError(f"the app holds {type(settings).__name__}, not {settings_class.__name__}")
    return settings
