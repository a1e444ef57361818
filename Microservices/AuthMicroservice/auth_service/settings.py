"""The auth service's settings (environment variables prefixed MONTY_)."""

from pathlib import Path

from pydantic import Field

from monty_common.settings import (
    AttemptCountSettings,
    AttemptLimitText,
    ServiceSecretSettings,
    ServiceSettings,
    TokenSettings,
)


class AuthSettings(ServiceSettings, TokenSettings, ServiceSecretSettings, AttemptCountSettings):
    """Where the auth service listens, how it signs tokens, whom it asks about users, how it throttles."""

    port: int = Field(9049, ge=1, le=65535)
    signing_key_file: Path | None = Field(
        None, description="Ed25519 private key (PEM). Unset: generated under MONTY_DATA_DIR on first start."
    )
    previous_signing_key_files: list[Path] = Field(
        default_factory=list,
        description="Retired keys whose public halves stay published until tokens expire.",
    )
    token_ttl: int = Field(900, ge=5, le=86400, description="Access-token lifetime in seconds.")
    users_url: str = Field("http://127.0.0.1:9048", pattern=r"^https?://", description="The user service.")
    users_timeout: float = Field(3.0, gt=0, le=30)
    login_limit_per_account_address: AttemptLimitText = Field(
        "5 per minute", description="Failed logins allowed for one username from one client address."
    )
    login_limit_per_account: AttemptLimitText = Field(
        "30 per hour",
        description="Failed logins for one username; past it, addresses that failed on it are refused.",
    )
    login_limit_per_address: AttemptLimitText = Field(
        "30 per minute", description="Failed logins allowed from one address, whatever the username."
    )
