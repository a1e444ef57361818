"""Models of the dead-letter routes' parameters, bodies and answers, for validation and the OpenAPI
document."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from exchange_service.api_models import TakenMessage
from monty_common.envelope import TEXT_MAX
from monty_common.query_model import ParameterModel

MessageId = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)]
MAX_REDRIVE_IDS = 1000


class QueuePath(ParameterModel):
    """A queue the gateway serves."""

    queue: str = Field(min_length=1, max_length=255, description="The queue's name (e.g. monty-queue).")


class DeadLetterPath(QueuePath):
    """One dead letter of a queue."""

    message_id: MessageId = Field(description="The dead letter's message_id.")


class DeadLetterQuery(ParameterModel):
    """How many dead letters to show."""

    max: int = Field(10, ge=1, le=100, description="Most dead letters to show (1 to 100), oldest first.")


class DeadLetterDescription(BaseModel):
    """Why and when a message was given up, as its headers say; null where they do not (a message
    another AMQP client put in the dead-letter queue)."""

    reason: str | None = Field(description='Why it was given up, e.g. "max-deliveries".')
    last_error: str | None = Field(description="The error the last release (nack) carried, if any.")
    delivery_count: int | None = Field(description="Deliveries made before it was given up.")
    dead_lettered_at: str | None = Field(description="When it was given up (ISO 8601, UTC).")
    source_queue: str | None = Field(description="The queue it was taken from.")


class DeadLetterMessage(TakenMessage):
    """A dead letter, shown as GET /Consume/batch shows a message, with why it is one."""

    dead_letter: DeadLetterDescription


# The operation that shows one dead letter, which the list links to.
GET_DEAD_LETTER = "get_dead_letter"


class DeadLetterList(BaseModel):
    """The oldest dead letters of a queue, left in place."""

    model_config = ConfigDict(  # type: ignore[typeddict-unknown-key]
        openapi_extra={
            "links": {
                "FirstDeadLetter": {
                    "operationId": GET_DEAD_LETTER,
                    "parameters": {
                        "queue": "$request.path.queue",
                        "message_id": "$response.body#/messages/0/message_id",
                    },
                    "description": "The oldest dead letter listed, by its message_id.",
                }
            }
        }
    )

    messages: list[DeadLetterMessage]
    count: int = Field(description="How many are shown.")
    total: int = Field(description="Messages in the dead-letter queue when the list was read.")
    byte_limited: bool = Field(
        description="True when the list stopped before max because its bodies passed the byte budget "
        "(MONTY_MAX_CONSUME_BATCH_BYTES)."
    )


class RedriveByIds(BaseModel):
    """Redrive the dead letters with these message_ids."""

    model_config = ConfigDict(extra="forbid")

    message_ids: list[MessageId] = Field(
        min_length=1, max_length=MAX_REDRIVE_IDS, description="1 to 1000 message_ids."
    )


class RedriveAll(BaseModel):
    """Redrive every dead letter."""

    model_config = ConfigDict(extra="forbid")

    all: Literal[True]


RedriveRequest = TypeAdapter[RedriveByIds | RedriveAll](RedriveByIds | RedriveAll)


class Redriven(BaseModel):
    """The dead letters put back in their queue, and the ids asked for that none carried."""

    redriven: int = Field(description="How many dead letters were put back.")
    message_ids: list[str | None] = Field(description="Their message_ids, in order (null: one without).")
    not_found: list[str] = Field(
        description="Ids asked for that no dead letter among the first MONTY_DEAD_LETTER_SCAN carried."
    )
