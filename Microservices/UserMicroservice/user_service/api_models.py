"""Models of the user service's requests and answers, for validation and the OpenAPI document."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from monty_common.query_model import ParameterModel
from user_service.models import User
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


class UserPath(BaseModel):
    """The user a route acts on."""

    user_id: UUID


class PageQuery(ParameterModel):
    """Which page of users to list."""

    limit: int = Field(50, ge=1, le=200)
    after: str | None = Field(None, max_length=USERNAME_MAX, description="next_cursor of the previous page.")


class UserOut(BaseModel):
    """A user as the API shows it: never a password or its hash."""

    id: str
    username: str
    roles: list[str] = Field(description="Sorted role names.")
    disabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> "UserOut":
        """The public view of `user`."""
        return cls(
            id=user.id,
            username=user.username,
            roles=sorted(user.roles),
            disabled=user.disabled,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class UserPageOut(BaseModel):
    """One page of users."""

    items: list[UserOut]
    next_cursor: str | None = Field(description="Pass as `after` for the next page; null on the last.")


class CheckedCredentials(BaseModel):
    """Who valid credentials belong to."""

    id: str
    username: str
    roles: list[str]
