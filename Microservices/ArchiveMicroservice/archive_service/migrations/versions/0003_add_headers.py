"""Keep the headers each message's producer attached."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0003", "0002"


def upgrade() -> None:
    """Add headers; messages archived before it existed carry none."""
    with op.batch_alter_table("archived_messages") as table:
        table.add_column(sa.Column("headers", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    """Drop headers."""
    with op.batch_alter_table("archived_messages") as table:
        table.drop_column("headers")
