"""Alembic migrations of the exchange database (idempotency keys)."""
