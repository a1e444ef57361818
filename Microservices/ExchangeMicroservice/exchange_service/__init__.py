"""The exchange service: publish and consume RabbitMQ messages over HTTP."""

from flask_openapi3.openapi import OpenAPI

from exchange_service.extensions import broker
from exchange_service.message_schema import EXTENSION_KEY as MESSAGE_SCHEMA_KEY
from exchange_service.message_schema import load_message_schema
from exchange_service.message_schema_doc import document_message_schema
from exchange_service.routes import api
from exchange_service.settings import ExchangeSettings
from exchange_service.waiting import init_wait_slots
from monty_common.auth import BearerAuth, TokenVerifier
from monty_common.health import health_blueprint
from monty_common.logging_setup import configure_logging
from monty_common.openapi_app import MontyOpenAPI, new_openapi_app


def create_app(settings: ExchangeSettings | None = None) -> OpenAPI:
    """Build the exchange app from `settings` (read from the environment when not given)."""
    settings = settings or ExchangeSettings()
    configure_logging(settings.log_level)
    app = new_openapi_app(__name__, "MontyExchange exchange service", "1.0.0")
    # Also caps any body read outside read_json_body.
    app.config["MAX_CONTENT_LENGTH"] = max(settings.max_body_bytes, settings.max_batch_bytes)
    app.extensions["monty.settings"] = settings
    register_message_schema(app, settings)
    register_extensions(app, settings)
    register_blueprints(app, settings)
    return app


def register_message_schema(app: MontyOpenAPI, settings: ExchangeSettings) -> None:
    """Compile the message schema once, when one is set, and show it in the OpenAPI document."""
    schema = None if settings.message_schema is None else load_message_schema(settings.message_schema)
    app.extensions[MESSAGE_SCHEMA_KEY] = schema
    if schema is not None:
        app.add_doc_hook(document_message_schema(schema.document))


def register_extensions(app: OpenAPI, settings: ExchangeSettings) -> None:
    """Bind the broker links and the token verifier."""
    broker.init_app(app, settings)
    init_wait_slots(app, settings.threads)
    BearerAuth().init_app(app, TokenVerifier(settings.jwks_url, settings.jwt_issuer, settings.jwt_audience))


def register_blueprints(app: OpenAPI, settings: ExchangeSettings) -> None:
    """Mount the API and the health endpoints."""
    app.register_api(api)
    app.register_api(
        health_blueprint(
            lambda: app.extensions[broker.key].readiness(settings.broker_timeout), settings.retry_after
        )
    )
