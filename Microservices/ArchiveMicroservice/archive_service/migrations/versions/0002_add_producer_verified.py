"""Record whether each archived message's producer was verified."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0002", "0001"


def upgrade() -> None:
    """Add producer_verified; messages archived before it existed are not verified."""
    with op.batch_alter_table("archived_messages") as table:
        table.add_column(
            sa.Column("producer_verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Drop producer_verified."""
    with op.batch_alter_table("archived_messages") as table:
        table.drop_column("producer_verified")
