"""Models of the exchange's answers, for validation and the OpenAPI document."""

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from exchange_service.idempotency import KEY_HEADER, KEY_PATTERN
from exchange_service.settings import DEFAULT_VISIBILITY
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
    request_id: str | None = Field(
        description="The X-Request-Id of the request that published it (the client's, or the one the "
        "gateway gave it), if known; not covered by producer_verified."
    )
    traceparent: str | None = Field(
        description="The W3C traceparent the publishing request carried, if any; not covered by "
        "producer_verified."
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


class QueuePath(BaseModel):
    """The queue a route works on."""

    queue: str = Field(description="The queue's name (this gateway serves the one configured queue).")


class ReceiveQuery(ConsumeQuery):
    """How many messages to lease, for how long, and how long to wait for the first."""

    max: int = Field(1, ge=1, le=100, description="Most messages to receive (1 to 100).")
    # The upper bound is the setting max_visibility: checked by the route, shown by queue_doc.py.
    visibility: int = Field(
        DEFAULT_VISIBILITY,
        ge=1,
        description="Seconds the messages stay leased to you (at most MONTY_MAX_VISIBILITY).",
    )


class LeasedMessage(TakenMessage):
    """A message leased to you: settle it with its receipt before the lease expires."""

    receipt: str = Field(description="Names this lease in ack, nack and extend (opaque, signed, yours only).")
    delivery_count: int = Field(description="1 on first delivery; one more for each expiry or release.")
    lease_expires_at: str = Field(description="When the lease ends unless extended (ISO 8601, UTC).")
    last_error: str | None = Field(description="The error the last nack of this message gave, if any.")


class ReceivedMessages(BaseModel):
    """Messages leased to you, oldest first; none if the queue stayed empty."""

    messages: list[LeasedMessage]
    count: int


def _integral(value: Any) -> Any:
    """A JSON number with no fraction (5.0) is the integer it equals, as JSON Schema has it."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# An integer in a strict body: 5 or 5.0, never true or "5".
JsonInt = Annotated[int, BeforeValidator(_integral)]
# Longest receipt: its fields are AMQP short strings (255 bytes at most each) and a user id.
RECEIPT_MAX = 4096
Receipts = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=RECEIPT_MAX)]], Field(min_length=1, max_length=100)
]


class AckBody(BaseModel):
    """Receipts of messages you are done with."""

    # JSON as it is: false is not 0, "5" is not 5.
    model_config = ConfigDict(extra="forbid", strict=True)
    receipts: Receipts = Field(description="1 to 100 receipts from receive.")


class NackBody(AckBody):
    """Receipts of messages you could not process, to be delivered again."""

    # The upper bound is the setting max_delay: checked by the route, shown by queue_doc.py.
    delay: JsonInt = Field(0, ge=0, description="Seconds before the messages are visible again.")
    error: str | None = Field(
        None, max_length=1000, description="Why processing failed; kept with the message (see dead letters)."
    )


class ExtendBody(AckBody):
    """Receipts of messages you need longer for."""

    # The upper bound is the setting max_visibility: checked by the route, shown by queue_doc.py.
    visibility: JsonInt = Field(ge=1, description="Seconds from now until the leases expire.")


class SettleResult(BaseModel):
    """What became of one receipt."""

    receipt: str
    message_id: str | None = Field(description="The message the receipt names, when the receipt is genuine.")
    status: int = Field(
        description="200 done; 404 unknown receipt; 403 not your lease; 410 lease gone (the message is or "
        "will be delivered again); 422 lease too long; 503 holder unreachable; 504 holder did not answer."
    )
    lease_expires_at: str | None = Field(None, description="With extend and 200: the new expiry.")
    type: str | None = Field(None, description="Otherwise: the problem type.")
    title: str | None = None
    detail: str | None = None


class SettleResults(BaseModel):
    """The result of each receipt, in the order given."""

    results: list[SettleResult]
    succeeded: int
    failed: int
