"""Settings every service shares, read from MONTY_-prefixed environment variables."""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, FilePath, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from monty_common.attempts import parse_limit
from monty_common.strict_json import DEFAULT_MAX_DEPTH, MAX_DEPTH_CEILING


def _a_limit(text: str) -> str:
    """`text` if it is a limit such as "5 per minute" (ValueError naming the form if not)."""
    try:
        parse_limit(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a limit such as '5 per minute' or '30/hour'") from None
    return text


# A limit on attempts, such as "5 per minute" (checked when the settings are read).
AttemptLimitText = Annotated[str, AfterValidator(_a_limit)]


class ServiceSettings(BaseSettings):
    """Settings common to every service; each service subclasses it with its own."""

    model_config = SettingsConfigDict(env_prefix="MONTY_", env_file=None, extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(9047, ge=1, le=65535, description="Port the HTTP server listens on.")
    data_dir: Path = Field(Path("var"), description="Where the service keeps its files.")
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    workers: int = Field(2, ge=1, le=64, description="Server processes.")
    threads: int = Field(16, ge=1, le=256, description="Request threads per server process.")
    retry_after: int = Field(
        2, ge=1, le=3600, description="Retry-After seconds of every answer asking to come back (503, 429)."
    )
    header_timeout: float = Field(
        5.0, gt=0, le=300, description="Seconds a client has to send a request's line and headers."
    )
    body_timeout: float = Field(
        30.0, gt=0, le=3600, description="Seconds a client has to send a request's body once its head is in."
    )
    request_buffer_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024 * 1024,
        description="Bytes of bodies over 64 KiB a server process holds at once; further ones wait unread.",
    )
    json_max_depth: int = Field(
        DEFAULT_MAX_DEPTH,
        ge=1,
        le=MAX_DEPTH_CEILING,
        description="Deepest nesting of arrays and objects a JSON body may have (deeper is 400).",
    )
    drain_seconds: float = Field(
        5.0,
        ge=0,
        le=120,
        description="On SIGTERM, seconds /readyz answers 503 while requests are still served (so load "
        "balancers stop sending), before the service stops accepting, finishes what it holds and exits.",
    )
    trusted_proxies: int = Field(
        0,
        ge=0,
        le=10,
        description="Reverse proxies in front of the service whose X-Forwarded-For/-Proto are believed.",
    )
    metrics: bool = Field(True, description="Count requests and serve Prometheus metrics at GET /metrics.")
    metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="0: /metrics on the service's own port; N: on port N of MONTY_HOST instead.",
    )

    @field_validator("metrics_port")
    @classmethod
    def _metrics_port_is_another(cls, value: int, info: ValidationInfo) -> int:
        """A metrics port equal to the service's would be bound twice, and the server not start."""
        if value and value == info.data.get("port"):
            raise ValueError(
                f"is MONTY_PORT ({value}): choose another port, or 0 to serve /metrics on MONTY_PORT"
            )
        return value


class BrokerSettings(ServiceSettings):
    """Settings of a service that talks to RabbitMQ."""

    amqp_url: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/",
        pattern=r"^amqps?://",
        description="Broker URL; amqps:// for TLS (the broker's certificate and host name are verified).",
    )
    amqp_urls: str | None = Field(
        None,
        description="Comma-separated broker URLs of a cluster, tried in a shuffled order and the next on "
        "failure; when set, it replaces MONTY_AMQP_URL.",
    )
    queue_type: Literal["classic", "quorum"] = Field(
        "classic",
        description="Type of every durable queue the stack declares: quorum (replicated, for a cluster) or "
        "classic. An existing queue keeps its type: one of the other type is reported at start.",
    )
    amqp_ca_file: FilePath | None = Field(
        None, description="CA certificates (PEM) trusted for an amqps:// broker; unset: the system's."
    )
    amqp_heartbeat: int = Field(10, ge=5, le=20, description="Heartbeat interval in seconds.")
    amqp_connect_timeout: float = Field(2.0, gt=0, le=30, description="Seconds to open a TCP connection.")
    amqp_blocked_timeout: float = Field(
        30.0, gt=0, description="Seconds a connection may stay blocked by a broker alarm before it is reset."
    )
    broker_timeout: float = Field(
        5.0, gt=0, le=60, description="Most seconds a request waits on the broker before it is answered 503."
    )
    topology_check_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="How often a publisher checks its queue still exists, declaring it again if deleted.",
    )

    @field_validator("amqp_urls")
    @classmethod
    def _urls_are_amqp(cls, value: str | None) -> str | None:
        """Each URL of the list is amqp:// or amqps://, and the list names at least one."""
        if value is None:
            return None
        urls = _split_urls(value)
        if not urls:
            raise ValueError("names no URL")
        bad = [url for url in urls if not url.startswith(("amqp://", "amqps://"))]
        if bad:
            raise ValueError(f"{len(bad)} URL(s) are not amqp:// or amqps://")
        return value

    @field_validator("amqp_ca_file")
    @classmethod
    def _ca_file_needs_tls(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        """A CA file with only plain amqp:// URLs would suggest a verified connection that is not made."""
        urls = info.data.get("amqp_urls")
        urls_list = _split_urls(urls) if urls else [str(info.data.get("amqp_url", ""))]
        if value is not None and not any(url.startswith("amqps://") for url in urls_list):
            raise ValueError("is set, but no broker URL is amqps:// (TLS)")
        return value

    @property
    def broker_urls(self) -> list[str]:
        """The broker URLs to try: MONTY_AMQP_URLS's when set, else MONTY_AMQP_URL alone."""
        return _split_urls(self.amqp_urls) if self.amqp_urls else [self.amqp_url]


def _split_urls(text: str) -> list[str]:
    """The non-empty, stripped items of a comma-separated list."""
    return [item.strip() for item in text.split(",") if item.strip()]


class TokenSettings(BaseSettings):
    """Where a service finds the keys that sign access tokens, and what the tokens must say."""

    model_config = SettingsConfigDict(env_prefix="MONTY_", env_file=None, extra="ignore", frozen=True)

    jwks_url: str = Field("http://127.0.0.1:9049/.well-known/jwks.json", description="Auth service's JWKS.")
    jwt_issuer: str = Field("montyexchange-auth", min_length=1)
    jwt_audience: str = Field("montyexchange", min_length=1)
    jwks_lifespan: float = Field(
        300.0, gt=0, le=86400, description="Seconds fetched keys are used before the JWKS is fetched again."
    )
    jwks_min_interval: float = Field(
        1.0, ge=0.01, le=300, description="Fewest seconds between two fetches of the JWKS, whatever asks."
    )
    jwks_outage_grace: float = Field(
        3600.0,
        gt=0,
        le=7 * 86400,
        description="While the auth service is unreachable, keys this young are still used; then 503.",
    )


class ServiceSecretSettings(BaseSettings):
    """The secret services present on internal routes."""

    model_config = SettingsConfigDict(env_prefix="MONTY_", env_file=None, extra="ignore", frozen=True)

    service_secret: str | None = Field(
        None, min_length=16, description="Shared by the services; generated under MONTY_DATA_DIR when unset."
    )


class AttemptCountSettings(BaseSettings):
    """Where a service counts guesses (logins, password changes)."""

    model_config = SettingsConfigDict(env_prefix="MONTY_", env_file=None, extra="ignore", frozen=True)

    rate_limit_storage: str = Field(
        "memory://",
        pattern=r"^(memory|redis|rediss)://",
        description="memory:// (counts per process: the service then runs one) or redis://host:6379/0.",
    )


class RevocationSettings(ServiceSecretSettings):
    """Whom a service accepting tokens asks whether they were revoked, and how often."""

    users_url: str = Field(
        "http://127.0.0.1:9048",
        pattern=r"^(https?://\S+)?$",
        description="The user service, asked whether tokens were revoked, and where the exchange records "
        "dead-letter redrives in the audit log; empty: neither (redrives are then only logged).",
    )
    users_timeout: float = Field(3.0, gt=0, le=30, description="Seconds to wait for the user service.")
    revocation_delay: float = Field(
        30.0, gt=0, le=3600, description="Seconds a user's status is cached: the most a revoked token lasts."
    )
    revocation_outage_grace: float = Field(
        300.0,
        gt=0,
        le=86400,
        description="While the user service is unreachable, statuses this young are still used; then 503.",
    )
