"""Preparing the user database: `flask --app user_service init-db` (app.py runs it before serving)."""

from pathlib import Path

import click
from sqlalchemy.orm import sessionmaker

from monty_common.database import START_LOCK_WAIT, make_engine, upgrade_schema
from monty_common.service_app import current_settings
from user_service.bootstrap import PROMOTE_COMMAND, ensure_admin
from user_service.settings import UserSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def init_database(settings: UserSettings) -> bool:
    """Apply every migration, then create the first admin if the database holds none; whether an
    enabled admin exists.

    Servers starting together on several hosts may all run it: the migrations take turns on a
    database lock, and only one first admin is ever inserted.
    """
    url = settings.resolved_database_url()
    upgrade_schema(url, MIGRATIONS)
    # An engine of its own, disposed before the server forks its workers.
    engine = make_engine(url, START_LOCK_WAIT)
    try:
        return ensure_admin(settings, sessionmaker(engine, expire_on_commit=False))
    finally:
        engine.dispose()


@click.command("init-db")
def init_db_command() -> None:
    """Migrate the user database to the current schema and make sure it has an admin."""
    if init_database(current_settings(UserSettings)):
        click.echo("The user database is up to date and has an admin.")
    else:
        click.echo(f"The user database is up to date but has no enabled admin: run `{PROMOTE_COMMAND}`.")
