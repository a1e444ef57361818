"""HTTP routes through which users see themselves and change their own password."""

from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from monty_common.auth import current_principal, guard
from monty_common.openapi_app import problem_doc as problem
from user_service import accounts
from user_service.account_problems import account_gone
from user_service.api_models import PasswordChange, UserOut
from user_service.extensions import password_throttle
from user_service.models import User
from user_service.route_docs import BEARER, INVALID, NO_CONTENT

api = APIBlueprint(
    "self", __name__, abp_tags=[Tag(name="me", description="The signed-in user")], abp_security=BEARER
)
GONE = problem("No valid bearer token, or its user was deleted or disabled, or revoked it.")


def _me() -> User:
    """The token's user, or 401 if it no longer exists, is disabled, or revoked the token."""
    principal = current_principal()
    user = accounts.find_active_user(principal.subject, principal.token_version)
    if user is None:
        raise account_gone()
    return user


@api.get("/users/me", summary="My profile", responses={200: UserOut, 401: GONE})
@guard()
def get_me() -> dict[str, object]:
    """The signed-in user."""
    return UserOut.model_validate(_me()).model_dump(mode="json")


@api.put(
    "/users/me/password",
    summary="Change my password",
    responses={
        204: NO_CONTENT,
        400: INVALID,
        401: GONE,
        403: problem("old_password is not correct."),
        429: problem("Too many wrong old passwords lately (MONTY_PASSWORD_CHANGE_LIMIT).", True),
        503: problem("Attempts cannot be counted now (the throttle's storage is unreachable).", True),
    },
)
@guard()
def change_my_password(body: PasswordChange) -> tuple[str, int]:
    """Change the signed-in user's password, given the current one, counting wrong ones.

    The attempt is counted before the current password is checked, so parallel guesses get no
    further than the limit; a success gives its count back.
    """
    me = _me()
    throttle = password_throttle.get()
    attempt = throttle.count(me.id)
    accounts.change_own_password(me.id, body.old_password, body.new_password)
    throttle.give_back(attempt)
    return "", 204
