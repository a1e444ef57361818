"""Alembic's entry point: applies the migrations to the URL set by monty_common.database.upgrade_schema."""

from monty_common.migration_runner import run_migrations
from user_service.models import Base

# Any constant shared by every process that migrates this database ("Montyuser").
run_migrations(Base.metadata, lock_id=0x4D6F6E7975736572)
