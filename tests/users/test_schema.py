"""The schema: migrations build it on an empty database, and usernames are unique in the database itself."""

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from support.users import AppFactory
from user_service.extensions import database
from user_service.models import User


def test_migrations_build_the_schema_on_an_empty_database(make_app: AppFactory, database_url: str) -> None:
    """Starting on an empty database applies every migration; starting again changes nothing."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        assert inspect(engine).get_table_names() == []
        make_app()
        make_app()
        tables = inspect(engine).get_table_names()
        columns = {column["name"] for column in inspect(engine).get_columns("users")}
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    finally:
        engine.dispose()
    assert sorted(tables) == ["alembic_version", "audit_events", "users"]
    assert columns == {
        "id",
        "username",
        "username_key",
        "password_hash",
        "roles",
        "disabled",
        "created_at",
        "updated_at",
        "token_version",
    }
    assert versions == ["0003"]


def test_the_database_refuses_a_second_username_key(make_app: AppFactory) -> None:
    """Below the service's own check, the unique constraint stops a duplicate lower-cased name."""
    app = make_app()
    with app.app_context(), database.session() as session:
        root = session.scalars(select(User)).one()
    assert root.created_at.tzinfo is not None
    duplicate = User(username="ROOT", username_key="root", password_hash="x")
    duplicate.roles = frozenset()
    with pytest.raises(IntegrityError), app.app_context(), database.session() as session:
        session.add(duplicate)
