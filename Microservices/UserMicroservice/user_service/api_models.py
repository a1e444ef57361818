"""Models of the user service's requests and answers, for validation and the OpenAPI document."""

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monty_common.query_model import ParameterModel
from user_service.user_rules import PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_PATTERN, Role


class StrictModel(BaseModel):
    """A request model refusing members it does not know."""

    model_config = ConfigDict(extra="forbid")


Password = Annotated[
    str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX, description="12 to 1024 characters.")
]


class NewUser(StrictModel):
    """A user to create."""

    username: str = Field(min_length=1, max_length=USERNAME_MAX, pattern=USERNAME_PATTERN)
    password: Password
    roles: list[Role] = Field(default_factory=list)


class RolesUpdate(StrictModel):
    """The roles a user is to hold from now on."""

    roles: list[Role]


class PasswordReset(StrictModel):
    """A new password set by an admin."""

    password: Password


class PasswordChange(StrictModel):
    """A user's own password change."""

    old_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: Password


class Credentials(StrictModel):
    """A username and password to check."""

    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    client: str | None = Field(
        None, max_length=64, description="The login's client address, for the audit log."
    )


class UserPath(BaseModel):
    """The user a route acts on."""

    user_id: UUID


class PageQuery(ParameterModel):
    """Which page of users to list."""

    limit: int = Field(50, ge=1, le=200)
    after: str | None = Field(None, max_length=USERNAME_MAX, description="next_cursor of the previous page.")


class UserOut(BaseModel):
    """A user as the API shows it: never a password or its hash."""

    # Built from a User (UserOut.model_validate(user)) by reading the attributes named here.
    model_config = ConfigDict(from_attributes=True)

    id: str
    username: str
    roles: list[str] = Field(description="Sorted role names.")
    disabled: bool
    created_at: datetime
    updated_at: datetime

    @field_validator("roles", mode="before")
    @classmethod
    def _sorted(cls, roles: Iterable[str]) -> list[str]:
        """A user holds a set of roles; the API lists them in order."""
        return sorted(roles)


class UserPageOut(BaseModel):
    """One page of users."""

    items: list[UserOut]
    next_cursor: str | None = Field(description="Pass as `after` for the next page; null on the last.")


class CheckedCredentials(BaseModel):
    """Who valid credentials belong to, and the token version their tokens carry (`ver`)."""

    id: str
    username: str
    roles: list[str]
    token_version: int


class TokenStatusQuery(StrictModel):
    """The user whose tokens a service checks (a token's `sub`)."""

    user_id: str = Field(min_length=1, max_length=256)


class TokenStatus(BaseModel):
    """Whether a user's tokens may still be honoured: the user is active, and tokens whose `ver` is
    below `token_version` were revoked."""

    user_id: str
    active: bool = Field(description="False when the user is disabled or does not exist.")
    token_version: int


class AuditQuery(ParameterModel):
    """Which page of audit events to list."""

    limit: int = Field(50, ge=1, le=200)
    # Ids are the database's 32-bit integers.
    before: int | None = Field(None, ge=1, le=2**31 - 1, description="next_cursor of the previous page.")


class AuditEventOut(BaseModel):
    """One audit event."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    time: datetime
    actor_id: str | None = Field(description="The acting user's id; null for a failed or throttled login.")
    actor: str | None = Field(description="The acting admin's username, or the name a login gave.")
    action: str = Field(description="What was done (see the README's audit log section).")
    target: str | None = Field(description="The id of the user acted on, or the queue of a redrive.")
    request_id: str | None
    client: str | None = Field(description="The client's address (proxy-aware).")
    outcome: str = Field(description="succeeded, refused or failed.")
    details: dict[str, Any]


class AuditPageOut(BaseModel):
    """One page of audit events, newest first."""

    items: list[AuditEventOut]
    next_cursor: int | None = Field(description="Pass as `before` for the next page; null on the last.")
