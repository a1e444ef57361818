"""The archive's schema: built by its migrations, with the unique message_id and the listing indexes."""

from collections.abc import Callable
from pathlib import Path

from flask_openapi3.openapi import OpenAPI
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from archive_service import create_app
from archive_service.models import ArchivedMessage
from archive_service.schema import MIGRATIONS
from archive_service.settings import ArchiveSettings
from monty_common.database import upgrade_schema
from monty_common.lifecycle import close_app
from support.commands import run_command
from support.file_modes import assert_private, modes, open_to_everyone
from support.tokens import TestKeys


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
        "producer_verified",
        "headers",
        "request_id",
        "traceparent",
        "routing_key",
        "published_at",
        "archived_at",
        "size_bytes",
    }
    assert indexes["ix_archived_messages_published_at_id"] == ["published_at", "id"]
    assert indexes["ix_archived_messages_producer_published_at"] == ["producer", "published_at"]
    assert unique == [["message_id"]]
    assert version_list == ["0004"]


def test_the_factory_creates_no_tables(database_url: str, tmp_path: Path, test_keys: TestKeys) -> None:
    """create_app only binds the database; the migrations are init-db's (or the worker's) to run."""
    settings = ArchiveSettings(
        archive_database_url=database_url, data_dir=tmp_path / "data", jwks_url=test_keys.jwks_url
    )
    close_app(create_app(settings))
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_the_init_db_command_migrates(database_url: str, tmp_path: Path) -> None:
    """`flask --app archive_service init-db` reads its settings from the environment and migrates."""
    env = {"MONTY_ARCHIVE_DATABASE_URL": database_url, "MONTY_DATA_DIR": str(tmp_path / "data")}
    status, output = run_command("archive_service", "init-db", env)
    assert status == 0, output
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        assert sorted(inspect(engine).get_table_names()) == ["archive_alembic_version", "archived_messages"]
    finally:
        engine.dispose()


def test_init_db_keeps_the_archive_private_in_an_open_data_dir(tmp_path: Path) -> None:
    """The default SQLite archive is 0600 in a 0700 data directory, even one that existed 0755, and one
    left open by an earlier version is tightened at the next init-db."""
    data = tmp_path / "data"
    open_to_everyone(data)
    env = {"MONTY_DATA_DIR": str(data)}
    status, output = run_command("archive_service", "init-db", env)
    assert status == 0, output
    assert "archive.db" in modes(data)
    assert_private(data)
    open_to_everyone(data)
    status, output = run_command("archive_service", "init-db", env)
    assert status == 0, output
    assert_private(data)


def test_messages_archived_before_headers_existed_have_none(database_url: str) -> None:
    """Migrating a database of the previous version gives its rows empty headers, kept as they were."""
    upgrade_schema(database_url, MIGRATIONS, "0002")
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO archived_messages (message_id, body, producer, producer_verified, "
                    "routing_key, published_at, archived_at, size_bytes) VALUES ('old', '{}', 'p', true, "
                    "'message', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 2)"
                )
            )
        upgrade_schema(database_url, MIGRATIONS)
        with Session(engine) as session:
            old = session.scalars(select(ArchivedMessage)).one()
    finally:
        engine.dispose()
    assert (old.message_id, old.headers, old.producer_verified) == ("old", {}, True)
