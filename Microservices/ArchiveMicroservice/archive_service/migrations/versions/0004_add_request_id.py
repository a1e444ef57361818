"""Keep the id (and W3C traceparent) of the request that published each message."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0004", "0003"


def upgrade() -> None:
    """Add request_id and traceparent; messages archived before they existed have neither."""
    with op.batch_alter_table("archived_messages") as table:
        table.add_column(sa.Column("request_id", sa.String(128), nullable=True))
        table.add_column(sa.Column("traceparent", sa.String(55), nullable=True))


def downgrade() -> None:
    """Drop request_id and traceparent."""
    with op.batch_alter_table("archived_messages") as table:
        table.drop_column("traceparent")
        table.drop_column("request_id")
