"""Add users.token_version, raised when a user's earlier tokens must stop working."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0002", "0001"


def upgrade() -> None:
    """Every user starts at version 0, which tokens without a `ver` claim stand for."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_version")
