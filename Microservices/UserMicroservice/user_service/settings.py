"""The user service's settings (environment variables prefixed MONTY_)."""

from typing import Self

from pydantic import Field, model_validator

from monty_common.database import sqlite_url
from monty_common.service_secret import resolve_secret
from monty_common.settings import (
    AttemptCountSettings,
    AttemptLimitText,
    ServiceSecretSettings,
    ServiceSettings,
    TokenSettings,
)
from user_service.user_rules import PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_PATTERN


class UserSettings(ServiceSettings, TokenSettings, ServiceSecretSettings, AttemptCountSettings):
    """Where the user service listens, which database it keeps and who its first admin is."""

    port: int = Field(9048, ge=1, le=65535)
    database_url: str | None = Field(None, description="SQLAlchemy URL; an SQLite file in data_dir if unset.")
    admin_username: str | None = Field(
        None, min_length=1, max_length=USERNAME_MAX, pattern=USERNAME_PATTERN, description="First admin."
    )
    admin_password: str | None = Field(
        None, min_length=PASSWORD_MIN, max_length=PASSWORD_MAX, description="First admin's password."
    )
    password_change_limit: AttemptLimitText = Field(
        "10 per hour", description="Wrong current passwords a user may give to PUT /users/me/password."
    )

    @model_validator(mode="after")
    def _admin_given_whole(self) -> Self:
        """A first admin is named with both its username and its password, or not at all."""
        if (self.admin_username is None) != (self.admin_password is None):
            raise ValueError("set both MONTY_ADMIN_USERNAME and MONTY_ADMIN_PASSWORD, or neither")
        return self

    def resolved_database_url(self) -> str:
        """The configured database, or the SQLite file under data_dir."""
        return self.database_url or sqlite_url(self.data_dir, "users.db")

    def resolved_service_secret(self) -> str:
        """The configured service secret, or the one shared through data_dir."""
        return resolve_secret(self.service_secret, self.data_dir)
