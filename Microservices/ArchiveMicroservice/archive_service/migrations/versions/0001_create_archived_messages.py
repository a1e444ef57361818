"""Create the archived_messages table."""

import sqlalchemy as sa
from alembic import op

# The first revision (see monty_common.migration_runner).
revision, down_revision = "0001", None


def upgrade() -> None:
    """Create the table, its unique message_id and the indexes of the listing queries."""
    op.create_table(
        "archived_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("producer", sa.String(255), nullable=True),
        sa.Column("routing_key", sa.String(255), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.UniqueConstraint("message_id", name="uq_archived_messages_message_id"),
    )
    op.create_index("ix_archived_messages_published_at_id", "archived_messages", ["published_at", "id"])
    op.create_index(
        "ix_archived_messages_producer_published_at", "archived_messages", ["producer", "published_at"]
    )


def downgrade() -> None:
    """Drop the table and its indexes."""
    op.drop_index("ix_archived_messages_producer_published_at", "archived_messages")
    op.drop_index("ix_archived_messages_published_at_id", "archived_messages")
    op.drop_table("archived_messages")
