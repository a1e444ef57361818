"""The audit log: who did what to whom, when and from where, written to the user service's database."""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from flask import g, has_request_context, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from monty_common.audit_events import CLIENT_MAX, Outcome, ServiceAction, ServiceAuditEvent
from monty_common.auth import current_principal
from monty_common.problems import ProblemError
from user_service.extensions import database
from user_service.models import AuditEvent

F = TypeVar("F", bound=Callable[..., Any])


class Action(StrEnum):
    """What an audit event records."""

    USER_CREATED = "user_created"
    ROLES_CHANGED = "roles_changed"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an action name, not a password
    USER_DELETED = "user_deleted"
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    # Recorded by the other services, through POST /internal/audit-events.
    DEAD_LETTERS_REDRIVEN = ServiceAction.DEAD_LETTERS_REDRIVEN.value
    LOGIN_THROTTLED = ServiceAction.LOGIN_THROTTLED.value


@dataclass(frozen=True)
class AuditPage:
    """Events newest first, and the cursor of the next page (None on the last)."""

    items: list[AuditEvent]
    next_cursor: int | None


def _request_id() -> str | None:
    """The request's id (g.request_id), or None outside a request."""
    return str(g.request_id) if has_request_context() and "request_id" in g else None


def _client() -> str | None:
    """The client's address, proxy-aware: ProxyFix put it in remote_addr, as the access log reads it."""
    return request.remote_addr[:CLIENT_MAX] if has_request_context() and request.remote_addr else None


def _event(action: str, target: str | None, outcome: Outcome, details: dict[str, object]) -> AuditEvent:
    """An event of the current admin request."""
    principal = current_principal()
    return AuditEvent(
        actor_id=principal.subject,
        actor=g.get("audit_actor", principal.username),
        action=action,
        target=target,
        request_id=_request_id(),
        client=_client(),
        outcome=outcome,
        details=details,
    )


def note(session: Session, target: str, **details: object) -> None:
    """Record the audited request's action on `target` in `session`, so it commits with the change;
    nothing outside an audited request (a command, the user's own routes)."""
    if not has_request_context() or "audit_action" not in g:
        return
    session.add(_event(g.audit_action, target, Outcome.SUCCEEDED, details))
    g.audit_noted = True


# The actor of an event a command run on the server made (no token, no request, no client).
COMMAND_ACTOR = "command line"


def note_command(session: Session, action: Action, target: str, command: str, **details: object) -> None:
    """Record, in `session`, what the server command `command` did to `target`."""
    session.add(
        AuditEvent(
            actor_id=None,
            actor=COMMAND_ACTOR,
            action=action,
            target=target,
            request_id=None,
            client=None,
            outcome=Outcome.SUCCEEDED,
            details={"command": command, **details},
        )
    )


def audited(action: Action) -> Callable[[F], F]:
    """Audit the admin view: its change notes itself (see note); a refusal is recorded on its own."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def audited_view(*args: Any, **kwargs: Any) -> Any:
            g.audit_action = action
            try:
                return view(*args, **kwargs)
            except ProblemError as problem:
                path = kwargs.get("path")
                target = str(path.user_id) if path is not None else None
                with database.session() as session:
                    session.add(_event(action, target, Outcome.REFUSED, {"status": problem.status}))
                raise

        return audited_view  # type: ignore[return-value]

    return wrap


def record_login(username: str, user_id: str | None, client: str | None) -> None:
    """Record a login attempt for `username` (never its password): succeeded when `user_id` is known."""
    action = Action.LOGIN_SUCCEEDED if user_id is not None else Action.LOGIN_FAILED
    outcome = Outcome.SUCCEEDED if user_id is not None else Outcome.REFUSED
    with database.session() as session:
        session.add(
            AuditEvent(
                actor_id=user_id,
                actor=username,
                action=action,
                target=user_id,
                request_id=_request_id(),
                client=(client or _client() or "")[:CLIENT_MAX] or None,
                outcome=outcome,
                details={},
            )
        )


def record_service_event(event: ServiceAuditEvent) -> AuditEvent:
    """Record another service's event as it was sent (its request id and client are the acting
    request's, not the calling service's); the stored event, once committed."""
    stored = AuditEvent(**event.model_dump(mode="json"))
    with database.session() as session:
        session.add(stored)
    return stored


def list_events(limit: int, before: int | None) -> AuditPage:
    """Up to `limit` events older than the event `before` (its id), newest first."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    with database.session() as session:
        events = list(session.scalars(query))
    more = len(events) > limit
    events = events[:limit]
    return AuditPage(events, events[-1].id if more else None)
