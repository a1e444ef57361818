"""Create the idempotency_keys table."""

import sqlalchemy as sa
from alembic import op

# The first revision (see monty_common.migration_runner).
revision, down_revision = "0001", None


def upgrade() -> None:
    """Create the table of claimed Idempotency-Keys, indexed by expiry for the purge."""
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("idempotency_keys")
