"""The exchange service: publish and consume RabbitMQ messages over HTTP."""

from exchange_service.dead_letter_routes import DEAD_LETTER_ID, DeadLetterIdConverter, dead_letter_api
from exchange_service.extensions import (
    audit_client,
    broker,
    dead_letters,
    idempotency_keys,
    message_schema,
    new_audit_client,
    new_broker_links,
    new_dead_letters,
    new_idempotency_ledger,
    producer_stamp,
    receipt_signer,
    token_revocation,
    token_verifier,
    wait_slots,
)
from exchange_service.lease_routes import leases_api
from exchange_service.message_schema import load_message_schema
from exchange_service.message_schema_doc import document_message_schema
from exchange_service.publish_options import document_max_delay
from exchange_service.queue_doc import document_queue_settings
from exchange_service.receipts import ReceiptSigner
from exchange_service.routes import api, document_replays
from exchange_service.schema import init_db_command
from exchange_service.settings import ExchangeSettings
from exchange_service.waiting import new_wait_slots
from monty_common.auth import new_revocation_check, new_token_verifier
from monty_common.draining import server_drain
from monty_common.health import health_blueprint
from monty_common.openapi_app import MontyOpenAPI
from monty_common.producer_stamp import ProducerStamp
from monty_common.request_reading import BODY_LIMITS
from monty_common.service_app import new_service_app
from monty_common.service_secret import resolve_secret


def create_app(settings: ExchangeSettings | None = None) -> MontyOpenAPI:
    """Build the exchange app from `settings` (read from the environment when not given)."""
    settings = settings or ExchangeSettings()
    app = new_service_app(
        __name__,
        "MontyExchange exchange service",
        settings,
        # Also caps any body read outside read_json_body.
        max_body_bytes=max(settings.max_body_bytes, settings.max_batch_bytes),
    )
    # The server reads a body ahead only up to its route's own limit (a larger one is refused).
    app.config[BODY_LIMITS] = {"/Message": settings.max_body_bytes, "/Messages": settings.max_batch_bytes}
    register_extensions(app, settings)
    register_blueprints(app, settings)
    register_commands(app)
    return app


def register_extensions(app: MontyOpenAPI, settings: ExchangeSettings) -> None:
    """Bind the broker links, dead letters, the idempotency ledger, the waiting slots, the token checks,
    the audit log's client and the message schema."""
    links = new_broker_links(settings)
    broker.init_app(app, links, close=links.close)
    server_drain.get(app).on_stop(links.end_waits)
    letters = new_dead_letters(settings, links)
    dead_letters.init_app(app, letters, close=letters.close)
    ledger = new_idempotency_ledger(settings)
    idempotency_keys.init_app(app, ledger, close=ledger.close)
    wait_slots.init_app(app, new_wait_slots(settings.threads))
    token_verifier.init_app(app, new_token_verifier(settings))
    secret = resolve_secret(settings.service_secret, settings.data_dir)
    producer_stamp.init_app(app, ProducerStamp(secret))
    receipt_signer.init_app(app, ReceiptSigner(secret))
    token_revocation.init_app(app, new_revocation_check(settings, settings.data_dir))
    audit_client.init_app(app, new_audit_client(settings, secret))
    register_message_schema(app, settings)


def register_message_schema(app: MontyOpenAPI, settings: ExchangeSettings) -> None:
    """Compile the message schema once, when one is set, and show it in the OpenAPI document."""
    schema = None if settings.message_schema is None else load_message_schema(settings.message_schema)
    message_schema.init_app(app, schema)
    if schema is not None:
        app.add_doc_hook(document_message_schema(schema.document))


def register_blueprints(app: MontyOpenAPI, settings: ExchangeSettings) -> None:
    """Mount the API, the dead-letter routes and the health endpoints (ready once both broker links are)."""
    app.register_api(api)
    app.add_doc_hook(document_replays)
    app.url_map.converters[DEAD_LETTER_ID] = DeadLetterIdConverter
    app.register_api(dead_letter_api)
    app.add_doc_hook(document_max_delay(settings.max_delay))
    app.register_api(leases_api)
    app.add_doc_hook(document_queue_settings(settings))
    app.register_api(health_blueprint(lambda: broker.get().readiness(settings.broker_timeout)))


def register_commands(app: MontyOpenAPI) -> None:
    """Add `flask init-db` (prepare the idempotency store's table, when it is a database)."""
    app.cli.add_command(init_db_command)
