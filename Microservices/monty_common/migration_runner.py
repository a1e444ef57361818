"""What every service's Alembic env.py does: apply its migrations to the URL upgrade_schema set.

A revision file names itself and its parent in one line, `revision, down_revision = "0002", "0001"`
(None for the first), and defines upgrade() and downgrade(); Alembic's other identifiers
(branch_labels, depends_on) are left out while the history stays one straight line. Its docstring's
first line is the revision's message.
"""

from typing import Any

from alembic import context
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.pool import NullPool


def run_migrations(metadata: MetaData, lock_id: int, version_table: str = "alembic_version") -> None:
    """Run the migrations offline (write SQL) or online (over one connection, closed afterwards).

    On PostgreSQL the migration holds the advisory lock `lock_id`, so servers starting together
    on several hosts migrate one at a time; the later ones find nothing to do.
    """
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic needs sqlalchemy.url")
    options: dict[str, Any] = {
        "target_metadata": metadata,
        "render_as_batch": True,
        "version_table": version_table,
    }
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **options)
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
                context.run_migrations()
    finally:
        engine.dispose()
