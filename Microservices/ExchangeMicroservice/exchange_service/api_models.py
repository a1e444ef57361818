"""Models of the exchange's answers, for validation and the OpenAPI document."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from exchange_service.idempotency import KEY_HEADER, KEY_PATTERN
from monty_common.query_model import ParameterModel


class Published(BaseModel):
    """A message the broker has confirmed."""

    message_id: str = Field(description="UUID given to the message (AMQP message_id).")
    published_at: str = Field(description="When the gateway published it (ISO 8601, UTC).")
    exchange: str
    routing_key: str


class PublishResult(BaseModel):
    """What became of one message of a batch."""

    message_id: str = Field(description="The message's id (for 504: the one to look for downstream).")
    status: int = Field(description="200 confirmed; 503 not stored (retrying is safe); 504 outcome unknown.")
    published_at: str | None = Field(None, description="With 200: when the gateway published it.")
    type: str | None = Field(None, description="Otherwise: the problem type, as a single publish answers it.")
    title: str | None = None
    detail: str | None = None
    replayed: bool | None = Field(
        None, description="True when this is the result of an earlier request with the same Idempotency-Key."
    )


class BatchPublished(BaseModel):
    """The results of a batch, in the order of its messages."""

    results: list[PublishResult]
    published: int = Field(description="How many the broker confirmed.")
    failed: int = Field(description="How many it did not (see each result's status).")


# Documented as the string it is when sent (a header cannot be null).
KeyText = Annotated[str | None, WithJsonSchema({"type": "string", "pattern": KEY_PATTERN})]


def _without_defaults(schema: dict[str, Any]) -> None:
    """Leave the headers' defaults (None) out of their schemas: an absent header has no value at all."""
    for header in schema.get("properties", {}).values():
        header.pop("default", None)


class PublishHeaders(ParameterModel):
    """The Idempotency-Key a publish may carry."""

    model_config = ConfigDict(json_schema_extra=_without_defaults)

    idempotency_key: KeyText = Field(
        None,
        alias=KEY_HEADER,
        pattern=KEY_PATTERN,
        description="1 to 255 visible ASCII characters (no space), e.g. a UUID, chosen by the producer "
        "for one request and sent again with each retry of it: the request is published once, and a "
        "retry gets its first outcome. Keys are the producer's own and remembered for "
        "MONTY_IDEMPOTENCY_WINDOW seconds (a day by default).",
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
