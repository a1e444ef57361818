"""What the user service's tests share: the settings they start it with and typed helpers."""

from collections.abc import Callable
from typing import Any

from flask_openapi3.openapi import OpenAPI
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.pool import NullPool

SERVICE_SECRET = "test-service-secret-0123456789"
ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "root-password-123"
ARGON2_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"

AppFactory = Callable[..., OpenAPI]
UserMaker = Callable[..., dict[str, Any]]


def dump_database(url: str) -> str:
    """Every row of every table of the database at `url`, as text."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            rows = [
                repr(row) for table in metadata.sorted_tables for row in connection.execute(select(table))
            ]
    finally:
        engine.dispose()
    return "\n".join(rows)
