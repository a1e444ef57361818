"""HTTP routes through which admins manage users."""

from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from monty_common.auth import current_principal
from monty_common.openapi_app import problem_doc as problem
from user_service import accounts
from user_service.account_problems import own_admin_access
from user_service.api_models import (
    AuditPageOut,
    AuditQuery,
    NewUser,
    PageQuery,
    PasswordReset,
    RolesUpdate,
    UserOut,
    UserPageOut,
    UserPath,
)
from user_service.audit import Action, audited, list_events
from user_service.guards import admin_only
from user_service.models import User
from user_service.route_docs import BEARER, GUARDED, LAST_ADMIN, NO_CONTENT, ONE_USER, OWN_ACCOUNT
from user_service.user_rules import ADMIN

api = APIBlueprint(
    "admin", __name__, abp_tags=[Tag(name="users", description="Managing users (admin)")], abp_security=BEARER
)

JSON = dict[str, object]


def _shown(user: User) -> JSON:
    """The user as the API shows it."""
    return UserOut.model_validate(user).model_dump(mode="json")


def _not_own_account(path: UserPath) -> None:
    """Refuse a change that would take an admin's own access away: they could lock themselves out."""
    if str(path.user_id) == current_principal().subject:
        raise own_admin_access()


@api.post(
    "/users",
    summary="Create a user",
    responses={**GUARDED, 201: UserOut, 409: problem("The username exists, ignoring case.")},
)
@admin_only
@audited(Action.USER_CREATED)
def create_user(body: NewUser) -> tuple[JSON, int, dict[str, str]]:
    """Create a user and answer it with its Location."""
    user = accounts.create_user(body.username, body.password, body.roles)
    return _shown(user), 201, {"Location": f"/users/{user.id}"}


@api.get(
    "/users",
    summary="List users",
    description="Users in username order, a page at a time.",
    responses={**GUARDED, 200: UserPageOut},
)
@admin_only
def list_users(query: PageQuery) -> JSON:
    """One page of users."""
    page = accounts.list_users(query.limit, query.after)
    return UserPageOut.model_validate(page, from_attributes=True).model_dump(mode="json")


@api.get("/users/<uuid:user_id>", summary="Get a user", responses={**ONE_USER, 200: UserOut})
@admin_only
def get_user(path: UserPath) -> JSON:
    """The user."""
    return _shown(accounts.get_user(str(path.user_id)))


@api.put(
    "/users/<uuid:user_id>/roles",
    summary="Set a user's roles",
    responses={**ONE_USER, 200: UserOut, 409: LAST_ADMIN},
)
@admin_only
@audited(Action.ROLES_CHANGED)
def set_roles(path: UserPath, body: RolesUpdate) -> JSON:
    """Replace the user's roles."""
    if ADMIN not in body.roles:
        _not_own_account(path)
    return _shown(accounts.set_roles(str(path.user_id), body.roles))


@api.post(
    "/users/<uuid:user_id>/disable",
    summary="Disable a user",
    description="A disabled user cannot sign in; tokens already issued stop working on /users/me.",
    responses={**ONE_USER, 200: UserOut, 409: LAST_ADMIN},
)
@admin_only
@audited(Action.USER_DISABLED)
def disable_user(path: UserPath) -> JSON:
    """Disable the user."""
    _not_own_account(path)
    return _shown(accounts.set_disabled(str(path.user_id), True))


@api.post("/users/<uuid:user_id>/enable", summary="Enable a user", responses={**ONE_USER, 200: UserOut})
@admin_only
@audited(Action.USER_ENABLED)
def enable_user(path: UserPath) -> JSON:
    """Enable the user again."""
    return _shown(accounts.set_disabled(str(path.user_id), False))


@api.put(
    "/users/<uuid:user_id>/password",
    summary="Reset a user's password",
    description=(
        "Ends the user's tokens. Not for the admin's own account, which changes its password with "
        "PUT /users/me/password, giving the current one: a stolen token must not take an account over."
    ),
    responses={**ONE_USER, 204: NO_CONTENT, 409: OWN_ACCOUNT},
)
@admin_only
@audited(Action.PASSWORD_RESET)
def reset_password(path: UserPath, body: PasswordReset) -> tuple[str, int]:
    """Set a new password without the old one (another user's only)."""
    _not_own_account(path)
    accounts.reset_password(str(path.user_id), body.password)
    return "", 204


@api.delete(
    "/users/<uuid:user_id>", summary="Delete a user", responses={**ONE_USER, 204: NO_CONTENT, 409: LAST_ADMIN}
)
@admin_only
@audited(Action.USER_DELETED)
def delete_user(path: UserPath) -> tuple[str, int]:
    """Delete the user."""
    _not_own_account(path)
    accounts.delete_user(str(path.user_id))
    return "", 204


@api.get(
    "/Audit",
    summary="List audit events",
    description=(
        "Admin actions and logins, newest first, a page at a time; never a password. Refused admin "
        "actions are listed too, with outcome `refused`, and so are the other services' events: "
        "dead-letter redrives and throttled logins."
    ),
    responses={**GUARDED, 200: AuditPageOut},
)
@admin_only
def list_audit_events(query: AuditQuery) -> JSON:
    """One page of audit events."""
    page = list_events(query.limit, query.before)
    return AuditPageOut.model_validate(page, from_attributes=True).model_dump(mode="json")
