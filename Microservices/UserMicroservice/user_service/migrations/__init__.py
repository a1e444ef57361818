"""Alembic migrations of the user database."""
