"""Audit events the other services have the user service record (POST /internal/audit-events): the
body's model, which both sides validate with, and the client that sends them."""

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

import requests
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StringConstraints, ValidationError

from monty_common.request_ids import REQUEST_ID_PATTERN
from monty_common.service_secret import InternalRoute

AUDIT_EVENTS_PATH = "/internal/audit-events"
# Within the audit table's columns, and small enough that the largest event, every character
# escaped (\uXXXX, twice for those beyond the BMP), fits the user service's 16 KiB bodies.
ACTOR_ID_MAX = 36
ACTOR_MAX = 64  # a username
TARGET_MAX = 255  # a queue's name
CLIENT_MAX = 64
DETAIL_MEMBERS_MAX = 8
DETAIL_NAME_MAX = 32
DETAIL_TEXT_MAX = 64
# The integers every JSON parser reads exactly.
SAFE_INTEGER = 2**53 - 1
# Control characters have no place in an audit field (and PostgreSQL cannot store NUL).
_CONTROL = r"\x00-\x1f\x7f-\x9f"
NO_CONTROL = f"^[^{_CONTROL}]*$"


class ServiceAction(StrEnum):
    """What a service other than the user service may record."""

    DEAD_LETTERS_REDRIVEN = "dead_letters_redriven"
    LOGIN_THROTTLED = "login_throttled"


class Outcome(StrEnum):
    """How an audited act ended."""

    SUCCEEDED = "succeeded"
    REFUSED = "refused"
    # Attempted, and cut short by a fault (a redrive the broker failed midway).
    FAILED = "failed"


def readable(text: str) -> str:
    """`text` with each control character replaced by U+FFFD, as an audit field takes it."""
    return re.sub(f"[{_CONTROL}]", "\ufffd", text)


def _text(max_length: int, min_length: int = 1) -> StringConstraints:
    """A string of `min_length` to `max_length` characters, none a control character."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_CONTROL)


def _a_number(value: object) -> object:
    """`value`, unless it is a string: a detail that is too long a string is no number ("000...0")."""
    if isinstance(value, str):
        raise ValueError("a string is not an integer")
    return value


# No pattern: pydantic would document one as patternProperties, leaving other names unconstrained.
DetailName = Annotated[str, StringConstraints(min_length=1, max_length=DETAIL_NAME_MAX)]
# Flat scalars only, so an event's details stay small and readable whatever a caller puts there.
# An integer may be written 3.0, as JSON Schema allows.
DetailValue = (
    Annotated[str, Strict(), _text(DETAIL_TEXT_MAX, min_length=0)]
    | Annotated[int, BeforeValidator(_a_number), Field(ge=-SAFE_INTEGER, le=SAFE_INTEGER)]
    | Annotated[bool, Strict()]
    | None
)


class ServiceAuditEvent(BaseModel):
    """An audited act of another service, as the user service stores it (time and id are its own)."""

    model_config = ConfigDict(extra="forbid")

    action: ServiceAction
    outcome: Outcome
    actor_id: Annotated[str, _text(ACTOR_ID_MAX)] | None = Field(
        None, description="The acting user's id (a token's sub)."
    )
    actor: Annotated[str, _text(ACTOR_MAX)] | None = Field(
        None, description="The acting user's name, or the name a login gave."
    )
    target: Annotated[str, _text(TARGET_MAX)] | None = Field(
        None, description="What was acted on (a queue's name)."
    )
    request_id: str | None = Field(
        None, pattern=f"^{REQUEST_ID_PATTERN}$", description="The id of the request that acted."
    )
    client: Annotated[str, _text(CLIENT_MAX)] | None = Field(
        None, description="The client's address, as that service saw it."
    )
    details: dict[DetailName, DetailValue] = Field(
        default_factory=dict,
        max_length=DETAIL_MEMBERS_MAX,
        description=f"Up to {DETAIL_MEMBERS_MAX} members, named in 1 to {DETAIL_NAME_MAX} characters, each "
        f"a string of up to {DETAIL_TEXT_MAX} characters, an integer, a boolean or null; no control "
        "characters in strings.",
    )


class AuditUnavailable(Exception):
    """The user service did not record the event (unreachable, too slow, refusing it)."""


class AuditClient:
    """Has the user service record audit events, through its internal route with the service secret."""

    def __init__(self, users_url: str, secret: str, timeout: float) -> None:
        """Where the user service is, how to prove we are a service, and how long to wait for it."""
        self.route = InternalRoute(users_url.rstrip("/") + AUDIT_EVENTS_PATH, secret, timeout)

    def record(self, event: Mapping[str, object]) -> None:
        """Have `event` (a ServiceAuditEvent's fields) recorded, or AuditUnavailable saying why not."""
        try:
            body = ServiceAuditEvent.model_validate(event).model_dump(mode="json")
        except ValidationError as error:
            raise AuditUnavailable(f"not an audit event the user service takes: {error}") from None
        try:
            response = self.route.post(body)
        except requests.RequestException as error:
            raise AuditUnavailable(f"user service unreachable: {type(error).__name__}") from None
        if response.status_code != 201:
            raise AuditUnavailable(f"user service answered {response.status_code}")
