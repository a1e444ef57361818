"""Models of the exchange's answers, for validation and the OpenAPI document."""

from typing import Any

from pydantic import BaseModel, Field

from monty_common.query_model import ParameterModel


class Published(BaseModel):
    """A message the broker has confirmed."""

    message_id: str = Field(description="UUID given to the message (AMQP message_id).")
    published_at: str = Field(description="When the gateway published it (ISO 8601, UTC).")
    exchange: str
    routing_key: str
    deliver_at: str | None = Field(
        None, description="With a delay: when the message reaches the queue (ISO 8601, UTC), not before."
    )


class PublishResult(BaseModel):
    """What became of one message of a batch."""

    message_id: str = Field(description="The message's id (for 504: the one to look for downstream).")
    status: int = Field(description="200 confirmed; 503 not stored (retrying is safe); 504 outcome unknown.")
    published_at: str | None = Field(None, description="With 200: when the gateway published it.")
    deliver_at: str | None = Field(None, description="With 200 and a delay: when it reaches the queue.")
    type: str | None = Field(None, description="Otherwise: the problem type, as a single publish answers it.")
    title: str | None = None
    detail: str | None = None


class BatchPublished(BaseModel):
    """The results of a batch, in the order of its messages."""

    results: list[PublishResult]
    published: int = Field(description="How many the broker confirmed.")
    failed: int = Field(description="How many it did not (see each result's status).")


class PublishQuery(ParameterModel):
    """When the message should reach the queue."""

    delay: int = Field(
        0,
        ge=0,
        description="Seconds before the message reaches the queue (0, the default: at once), up to "
        "MONTY_MAX_DELAY (900 by default); until then no consumer, nor the archive, sees it.",
    )


class ConsumeQuery(ParameterModel):
    """How long to wait for a message when the queue is empty."""

    wait: int = Field(
        0,
        ge=0,
        le=20,
        description="Seconds to wait for a message if the queue is empty (long polling); 0 answers at once.",
    )


class BatchConsumeQuery(ConsumeQuery):
    """How many messages to take, and how long to wait for the first."""

    max: int = Field(10, ge=1, le=100, description="Most messages to take (1 to 100).")


class TakenMessage(BaseModel):
    """A message taken off the queue (and acknowledged)."""

    message_id: str | None
    published_at: str | None = Field(description="When it was published (ISO 8601), if known.")
    redelivered: bool = Field(description="Whether the broker delivered it before.")
    producer: str | None = Field(description="The producer's user id, if the gateway published it.")
    producer_name: str | None
    producer_verified: bool = Field(
        description="Whether the gateway authenticated the producer (its signed stamp holds); "
        "false for messages published past the gateway, whatever their producer header says."
    )
    content_type: str
    headers: dict[str, str] = Field(
        description="The headers its producer attached (Monty-Header-<name> on publish), by lower-case name."
    )
    body: Any = Field(None, description="A JSON message's body, embedded byte for byte as published.")
    body_base64: str | None = Field(None, description="Any other message's body, in base64.")


class TakenBatch(BaseModel):
    """Messages taken off the queue, oldest first; none if the queue stayed empty."""

    messages: list[TakenMessage]
    count: int
    byte_limited: bool = Field(
        description="True when the batch stopped before max because its bodies passed the byte budget "
        "(MONTY_MAX_CONSUME_BATCH_BYTES); more may be waiting in the queue."
    )
