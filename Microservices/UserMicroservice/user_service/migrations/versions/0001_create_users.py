"""Create the users table."""

import sqlalchemy as sa
from alembic import op

# The first revision (see monty_common.migration_runner).
revision, down_revision = "0001", None


def upgrade() -> None:
    """Create the users table with its case-insensitive unique username."""
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("username_key", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("roles", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("username_key", name="uq_users_username_key"),
    )


def downgrade() -> None:
    """Drop the users table."""
    op.drop_table("users")
