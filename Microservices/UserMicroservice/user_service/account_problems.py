"""The problems the account operations answer with."""

from monty_common.auth.bearer import REALM
from monty_common.problems import ProblemError


def user_not_found(user_id: str) -> ProblemError:
    """404: no user has this id."""
    return ProblemError(404, "user-not-found", "User Not Found", f"No user has the id {user_id}.")


def username_taken(username: str) -> ProblemError:
    """409: the name is in use, perhaps spelled with other capitals."""
    return ProblemError(
        409, "username-taken", "Username Taken", f"A user named {username!r} (ignoring case) already exists."
    )


def last_admin() -> ProblemError:
    """409: the change would leave no enabled admin to manage users."""
    return ProblemError(
        409, "last-admin", "Last Admin", "This is the only enabled admin; make another admin first."
    )


def own_admin_access() -> ProblemError:
    """409: an admin may not delete, disable or demote their own account, nor reset its password
    without the current one; another admin must (or PUT /users/me/password, for the password)."""
    return ProblemError(
        409,
        "own-admin-access",
        "Own Admin Access",
        "An admin cannot delete, disable or demote their own account, nor reset its password (use "
        "PUT /users/me/password with the current one); another admin must do the rest.",
    )


def wrong_password() -> ProblemError:
    """403: the current password given to change it is not the user's."""
    return ProblemError(403, "wrong-password", "Wrong Password", "The current password is not correct.")


def account_gone() -> ProblemError:
    """401: the token is valid but its user was deleted or disabled, or revoked it (a role taken
    away, a new password), since it was issued."""
    return ProblemError(
        401,
        "unauthorized",
        "Unauthorized",
        "The token was revoked: its user no longer exists, is disabled, lost a role or changed password.",
        {"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'},
    )


def invalid_credentials() -> ProblemError:
    """401 for every failed sign-in alike: unknown user, wrong password or disabled account."""
    return ProblemError(401, "invalid-credentials", "Invalid Credentials", "Invalid username or password.")
