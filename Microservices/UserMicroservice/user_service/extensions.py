"""The user service's extensions, unbound: each app gets its own in create_app."""

from monty_common.auth import token_revocation, token_verifier
from monty_common.database import Database
from monty_common.extension import Extension
from monty_common.service_secret import ServiceSecret
from user_service.password_throttle import PasswordChangeThrottle

__all__ = ["database", "password_throttle", "service_secret", "token_revocation", "token_verifier"]

database = Database()
service_secret = ServiceSecret("monty.service_secret")
# Counts changes of a user's own password; each app has its own, sharing counts only through Redis.
password_throttle = Extension[PasswordChangeThrottle]("monty.password_throttle")
