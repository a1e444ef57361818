"""The archive's schema: built by its migrations, with the unique message_id and the listing indexes."""

from collections.abc import Callable

from flask_openapi3.openapi import OpenAPI
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool


def test_migrations_build_the_schema_once(make_app: Callable[..., OpenAPI], database_url: str) -> None:
    """Starting on an empty database creates the table and indexes; starting again changes nothing."""
    make_app()
    make_app()
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        schema = inspect(engine)
        tables = sorted(schema.get_table_names())
        columns = {column["name"] for column in schema.get_columns("archived_messages")}
        indexes = {index["name"]: index["column_names"] for index in schema.get_indexes("archived_messages")}
        unique = [
            constraint["column_names"] for constraint in schema.get_unique_constraints("archived_messages")
        ]
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM archive_alembic_version")).scalars()
            version_list = list(versions)
    finally:
        engine.dispose()
    # A version table of its own: the archive may share a database with the user service.
    assert tables == ["archive_alembic_version", "archived_messages"]
    assert columns == {
        "id",
        "message_id",
        "body",
        "producer",
        "routing_key",
        "published_at",
        "archived_at",
        "size_bytes",
    }
    assert indexes["ix_archived_messages_published_at_id"] == ["published_at", "id"]
    assert indexes["ix_archived_messages_producer_published_at"] == ["producer", "published_at"]
    assert unique == [["message_id"]]
    assert version_list == ["0001"]
