"""The exchange service's settings (environment variables prefixed MONTY_)."""

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from exchange_service.message_schema import load_message_schema
from monty_common.database import sqlite_url
from monty_common.settings import BrokerSettings, RevocationSettings, TokenSettings

# Schemes of the Redis store; any other URL names a database through SQLAlchemy.
REDIS_SCHEMES = ("redis://", "rediss://")
# Seconds a received message stays leased unless the receive asks otherwise.
DEFAULT_VISIBILITY = 30


class ExchangeSettings(BrokerSettings, TokenSettings, RevocationSettings):
    """Where the exchange service listens and which exchange, queue and key it uses."""

    port: int = Field(9047, ge=1, le=65535)
    exchange: str = Field("monty.exchange", min_length=1, max_length=255)
    queue: str = Field("monty-queue", min_length=1, max_length=255)
    routing_key: str = Field("message", max_length=255)
    max_body_bytes: int = Field(1024 * 1024, ge=1, description="Largest accepted message body, in bytes.")
    max_batch_messages: int = Field(1000, ge=1, le=10000, description="Most messages in one POST /Messages.")
    max_batch_bytes: int = Field(
        16 * 1024 * 1024, ge=1, description="Largest accepted POST /Messages body, in bytes."
    )
    max_consume_batch_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1,
        description="GET /Consume/batch ends once its bodies pass this many bytes (one message at least).",
    )
    max_delay: int = Field(
        900,
        ge=0,
        le=86400,
        description="Longest delay, in seconds, a publish may ask for (?delay=); 0 turns delays off.",
    )
    max_deliveries: int = Field(
        5,
        ge=1,
        le=1000,
        description="Deliveries of a leased message before it goes to its queue's dead-letter queue.",
    )
    queue_max_deliveries: dict[str, int] = Field(
        default_factory=dict,
        description='max_deliveries for particular queues, as JSON: {"monty-queue": 3}.',
    )
    dead_letter_scan: int = Field(
        10000,
        ge=1,
        le=1_000_000,
        description="Most dead letters one admin call looks through for ids, or puts back in one redrive.",
    )
    max_visibility: int = Field(
        900, ge=1, description="Longest visibility a receive or an extension may ask for, in seconds."
    )
    max_lease_seconds: int = Field(
        1500,
        ge=1,
        description="Longest a lease may last in all, extensions included. Keep it below RabbitMQ's "
        "consumer_timeout (1800 s by default), which closes a channel holding a delivery longer.",
    )
    max_leased_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1,
        description="Bodies one server process holds under lease at most; past it, receives get 429.",
    )
    message_schema: Path | None = Field(
        None, description="JSON Schema (2020-12) file every message body must match; unset: any JSON."
    )
    idempotency_url: str | None = Field(
        None,
        description="Where Idempotency-Key outcomes are kept: redis://host:6379/1, or an SQLAlchemy URL; "
        "unset: the SQLite file idempotency.db in data_dir.",
    )
    idempotency_window: int = Field(
        86400,
        ge=300,
        le=30 * 86400,
        description="Seconds an Idempotency-Key is remembered, from its first request.",
    )

    def resolved_idempotency_url(self) -> str:
        """The configured idempotency store, or the SQLite file under data_dir."""
        return self.idempotency_url or sqlite_url(self.data_dir, "idempotency.db")

    def idempotency_in_database(self) -> bool:
        """Whether the idempotency store is a database (which init-db migrates), not Redis."""
        return not (self.idempotency_url or "").startswith(REDIS_SCHEMES)

    def max_deliveries_of(self, queue: str) -> int:
        """How many deliveries a message of `queue` gets before it is dead-lettered."""
        return self.queue_max_deliveries.get(queue, self.max_deliveries)

    @model_validator(mode="after")
    def _visibility_fits_a_lease(self) -> "ExchangeSettings":
        """No visibility may outlast a whole lease."""
        if not DEFAULT_VISIBILITY <= self.max_visibility <= self.max_lease_seconds:
            raise ValueError(f"need {DEFAULT_VISIBILITY} <= max_visibility <= max_lease_seconds")
        return self

    @field_validator("queue_max_deliveries")
    @classmethod
    def _deliveries_are_positive(cls, limits: dict[str, int]) -> dict[str, int]:
        """Every queue gets at least one delivery."""
        for queue, limit in limits.items():
            if not 1 <= limit <= 1000:
                raise ValueError(f"max deliveries of {queue!r} must be 1 to 1000, not {limit}")
        return limits

    @field_validator("idempotency_url")
    @classmethod
    def _store_url_is_usable(cls, url: str | None) -> str | None:
        """A Redis URL, or one SQLAlchemy can parse; empty means unset."""
        if not url or url.startswith(REDIS_SCHEMES):
            return url or None
        try:
            make_url(url)
        except ArgumentError:
            raise ValueError("is neither redis://... nor an SQLAlchemy database URL") from None
        return url

    @field_validator("message_schema", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        """MONTY_MESSAGE_SCHEMA= (empty) means no schema, as leaving it out does."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("message_schema")
    @classmethod
    def _schema_is_valid(cls, path: Path | None) -> Path | None:
        """A file that is missing, not JSON or not a valid schema stops the service at start."""
        if path is not None:
            load_message_schema(path)  # only to check it: each app compiles its own in create_app
        return path
