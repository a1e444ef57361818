"""Alembic's entry point: applies the migrations to the URL set by monty_common.database.upgrade_schema."""

from archive_service.models import Base
from monty_common.migration_runner import run_migrations

# Any constant shared by every process that migrates this database ("MontyArc"); a version table
# of its own, so the archive may share a database with the user service.
run_migrations(Base.metadata, lock_id=0x4D6F6E7479417263, version_table="archive_alembic_version")
