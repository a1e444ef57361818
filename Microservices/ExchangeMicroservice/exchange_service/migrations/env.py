"""Alembic's entry point: applies the migrations to the URL set by monty_common.database.upgrade_schema."""

from exchange_service.models import Base
from monty_common.migration_runner import run_migrations

# Any constant shared by every process that migrates this database ("MontyExc"); a version table
# of its own, so the idempotency keys may share a database with the other services.
run_migrations(Base.metadata, lock_id=0x4D6F6E7479457863, version_table="exchange_alembic_version")
