"""The archive service's settings (environment variables prefixed MONTY_), shared by its API and worker."""

from pydantic import Field

from monty_common.database import sqlite_url
from monty_common.settings import BrokerSettings, RevocationSettings, TokenSettings


class ArchiveSettings(BrokerSettings, TokenSettings, RevocationSettings):
    """Where the archive listens, which messages it copies and where it keeps them."""

    port: int = Field(9050, ge=1, le=65535)
    exchange: str = Field("monty.exchange", min_length=1, max_length=255, description="Exchange to copy.")
    routing_key: str = Field("message", max_length=255, description="Routing key the archive queue binds.")
    archive_queue: str = Field("monty-archive", min_length=1, max_length=255)
    archive_dead_letter_exchange: str = Field(
        "monty.archive.dlx", min_length=1, max_length=255, description="Where poison messages are sent."
    )
    archive_dead_letter_queue: str = Field(
        "monty-archive-dead", min_length=1, max_length=255, description="Where poison messages wait."
    )
    archive_prefetch: int = Field(100, ge=1, le=10000, description="Unacked messages the worker may hold.")
    archive_flush_seconds: float = Field(
        0.2, gt=0, le=10, description="Longest a received message waits before its batch is committed."
    )
    max_page_bytes: int = Field(
        4 * 1024 * 1024,
        ge=64 * 1024,
        description="About the most bytes of messages one GET /Messages page holds (one message at least).",
    )
    worker_metrics_port: int = Field(
        9051,
        ge=1,
        le=65535,
        description="Port of MONTY_HOST the archive worker serves its Prometheus metrics on (MONTY_METRICS).",
    )
    archive_database_url: str | None = Field(
        None, description="SQLAlchemy URL; the SQLite file archive.db in data_dir if unset."
    )

    def resolved_database_url(self) -> str:
        """The configured database, or the SQLite file under data_dir."""
        return self.archive_database_url or sqlite_url(self.data_dir, "archive.db")
