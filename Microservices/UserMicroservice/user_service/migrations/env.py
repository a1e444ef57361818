"""Alembic's entry point: applies the migrations to the URL set by monty_common.database.upgrade_schema."""

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from user_service.models import Base

# Any constant shared by every process that migrates this database.
MIGRATION_LOCK_ID = 0x4D6F6E7975736572

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Write the SQL instead of running it."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply the migrations over one connection, closed afterwards."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic needs sqlalchemy.url")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    # Servers starting together migrate one at a time; the later ones find nothing to do.
                    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
