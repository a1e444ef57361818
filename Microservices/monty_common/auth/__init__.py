"""Bearer tokens: verifying them locally against the auth service's JWKS, and guarding routes."""

from monty_common.auth.bearer import BearerAuth, current_principal, require_roles
from monty_common.auth.verifier import InvalidToken, KeysUnavailable, Principal, TokenVerifier

__all__ = [
    "BearerAuth",
    "InvalidToken",
    "KeysUnavailable",
    "Principal",
    "TokenVerifier",
    "current_principal",
    "require_roles",
]
