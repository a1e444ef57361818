"""Bringing the archive database to the current schema, one process at a time."""

from pathlib import Path

from archive_service.settings import ArchiveSettings
from monty_common.database import upgrade_schema
from monty_common.startup_lock import startup_lock

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(settings: ArchiveSettings) -> str:
    """Apply every migration to the archive database and return its URL."""
    url = settings.resolved_database_url()
    with startup_lock(settings.data_dir, "archive-startup"):
        upgrade_schema(url, MIGRATIONS)
    return url
