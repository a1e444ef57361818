"""Models of the exchange's answers, for validation and the OpenAPI document."""

from pydantic import BaseModel, Field


class Published(BaseModel):
    """A message the broker has confirmed."""

    message_id: str = Field(description="UUID given to the message (AMQP message_id).")
    published_at: str = Field(description="When the gateway published it (ISO 8601, UTC).")
    exchange: str
    routing_key: str
