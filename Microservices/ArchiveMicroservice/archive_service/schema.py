"""Bringing the archive database to the current schema: `flask --app archive_service init-db`."""

from pathlib import Path

import click

from archive_service.settings import ArchiveSettings
from monty_common.database import upgrade_schema
from monty_common.service_app import current_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def init_database(settings: ArchiveSettings) -> None:
    """Apply every migration to the archive database (run once before the API's workers start,
    and by the worker); processes running it together take turns (see run_migrations)."""
    upgrade_schema(settings.resolved_database_url(), MIGRATIONS)


@click.command("init-db")
def init_db_command() -> None:
    """Migrate the archive database to the current schema."""
    init_database(current_settings(ArchiveSettings))
    click.echo("The archive database is up to date.")
