"""The exchange service's settings (environment variables prefixed MONTY_)."""

from pydantic import Field

from monty_common.settings import BrokerSettings, TokenSettings


class ExchangeSettings(BrokerSettings, TokenSettings):
    """Where the exchange service listens and which exchange, queue and key it uses."""

    port: int = Field(9047, ge=1, le=65535)
    exchange: str = Field("monty.exchange", min_length=1, max_length=255)
    queue: str = Field("monty-queue", min_length=1, max_length=255)
    routing_key: str = Field("message", max_length=255)
    max_body_bytes: int = Field(1024 * 1024, ge=1, description="Largest accepted message body, in bytes.")
