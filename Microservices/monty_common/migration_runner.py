"""What every service's Alembic env.py does: apply its migrations to the URL upgrade_schema set.

A revision file names itself and its parent in one line, `revision, down_revision = "0002", "0001"`
(None for the first), and defines upgrade() and downgrade(); Alembic's other identifiers
(branch_labels, depends_on) are left out while the history stays one straight line. Its docstring's
first line is the revision's message.
"""

from typing import Any

from alembic import context
from sqlalchemy import Connection, MetaData, create_engine, text
from sqlalchemy.pool import NullPool

from monty_common.database import START_LOCK_WAIT


def run_migrations(metadata: MetaData, lock_id: int, version_table: str = "alembic_version") -> None:
    """Run the migrations offline (write SQL) or online (over one connection, closed afterwards).

    Processes migrating together (servers starting on several hosts, or a service's API and
    worker) take turns on a lock of the database's own; the later ones find nothing to do.
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
    # On SQLite, processes migrating at once wait for each other's write lock (up to a minute).
    connect_args = {"timeout": START_LOCK_WAIT} if url.startswith("sqlite") else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            _begin_in_turn(connection, lock_id)
            # Alembic runs inside the transaction begun here, and leaves its commit to us.
            context.configure(connection=connection, **options)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    finally:
        engine.dispose()


def _begin_in_turn(connection: Connection, lock_id: int) -> None:
    """Begin the migration's transaction holding a lock other migrating processes wait for."""
    if connection.dialect.name == "postgresql":
        # Released when the transaction ends.
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    elif connection.dialect.name == "sqlite":
        # The write lock now, not at the first write: a second process waits here (busy timeout)
        # instead of reading the old version and creating tables that exist by then.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.begin()
