"""HTTP routes for the other services only: checking credentials for the auth service, the status
of a user's tokens for the services that accept them, and recording their audit events."""

from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from monty_common.audit_events import AUDIT_EVENTS_PATH, ServiceAuditEvent
from monty_common.openapi_app import problem_doc as problem
from user_service import accounts
from user_service.account_problems import invalid_credentials
from user_service.api_models import (
    AuditEventOut,
    CheckedCredentials,
    Credentials,
    TokenStatus,
    TokenStatusQuery,
)
from user_service.audit import record_login, record_service_event
from user_service.extensions import service_secret
from user_service.route_docs import INVALID, SERVICE

api = APIBlueprint(
    "internal",
    __name__,
    abp_tags=[Tag(name="internal", description="For the services")],
    abp_security=SERVICE,
)


@api.post(
    "/internal/credentials",
    summary="Check a username and password",
    description="Answers the user for valid credentials of an enabled user; every failure answers alike.",
    responses={
        200: CheckedCredentials,
        400: INVALID,
        401: problem("Missing or wrong service secret, or invalid credentials (unknown, wrong or disabled)."),
    },
)
@service_secret.required
def check_credentials(body: Credentials) -> dict[str, object]:
    """The user the credentials belong to, or 401."""
    user = accounts.verify_credentials(body.username, body.password)
    record_login(body.username, user.id if user is not None else None, body.client)
    if user is None:
        raise invalid_credentials()
    return CheckedCredentials(
        id=user.id, username=user.username, roles=sorted(user.roles), token_version=user.token_version
    ).model_dump()


@api.post(
    "/internal/token-status",
    summary="Whether a user's tokens are still good",
    description=(
        "The exchange and the archive ask it, then cache the answer for MONTY_REVOCATION_DELAY: a "
        "token is refused if its user is not active or its `ver` is below `token_version`."
    ),
    responses={200: TokenStatus, 400: INVALID, 401: problem("Missing or wrong service secret.")},
)
@service_secret.required
def token_status(body: TokenStatusQuery) -> dict[str, object]:
    """The user's state as tokens need it; an unknown user is simply not active."""
    active, version = accounts.token_status(body.user_id)
    return TokenStatus(user_id=body.user_id, active=active, token_version=version).model_dump()


@api.post(
    AUDIT_EVENTS_PATH,
    summary="Record another service's audit event",
    description=(
        "The exchange records each dead-letter redrive (`dead_letters_redriven`), the auth service a "
        "throttled login (`login_throttled`, at most one per client address a minute). No other action "
        "is taken. Answers the event once it is committed; an invalid one is refused and nothing is stored."
    ),
    responses={201: AuditEventOut, 400: INVALID, 401: problem("Missing or wrong service secret.")},
)
@service_secret.required
def record_audit_event(body: ServiceAuditEvent) -> tuple[dict[str, object], int]:
    """Store the event and answer it."""
    stored = record_service_event(body)
    return AuditEventOut.model_validate(stored).model_dump(mode="json"), 201
