"""Preparing the idempotency store: `flask --app exchange_service init-db` (app.py runs it first)."""

from pathlib import Path

import click

from exchange_service.settings import ExchangeSettings
from monty_common.database import upgrade_schema
from monty_common.service_app import current_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def init_database(settings: ExchangeSettings) -> None:
    """Apply every migration to the idempotency store when it is a database (Redis needs none).

    Run once before the server forks its workers; instances starting together take turns (see
    run_migrations).
    """
    if settings.idempotency_in_database():
        upgrade_schema(settings.resolved_idempotency_url(), MIGRATIONS)


@click.command("init-db")
def init_db_command() -> None:
    """Migrate the idempotency store to the current schema (nothing to do on Redis)."""
    init_database(current_settings(ExchangeSettings))
    click.echo("The idempotency store is ready.")
