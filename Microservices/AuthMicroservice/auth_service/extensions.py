"""The auth service's extensions, unbound: each app gets its own in create_app."""

from typing import Any

from auth_service.throttled_logins import ThrottledLogins
from auth_service.throttling import LoginThrottle
from auth_service.tokens import TokenIssuer
from auth_service.users_client import UsersClient
from monty_common.extension import Extension

# Signs the tokens with the current key.
issuer = Extension[TokenIssuer]("monty.issuer")
# The JWKS published at /.well-known/jwks.json: the current key, then retired ones.
key_set = Extension[dict[str, Any]]("monty.jwks")
# Asks the user service whether credentials are valid.
users = Extension[UsersClient]("monty.users")
# Counts login attempts; each app has its own, sharing counts only through its storage (Redis).
login_throttle = Extension[LoginThrottle]("monty.login_throttle")
# Records throttled logins in the user service's audit log, at most one per address a minute.
throttled_logins = Extension[ThrottledLogins]("monty.throttled_logins")
