"""Bearer tokens: verifying them locally against the auth service's JWKS, and guarding routes."""

from monty_common.auth.bearer import (
    current_principal,
    new_revocation_check,
    new_token_verifier,
    token_revocation,
    token_verifier,
)
from monty_common.auth.guards import guard
from monty_common.auth.verifier import InvalidToken, KeysUnavailable, Principal, TokenVerifier
from monty_common.check_first import check_then_validate

__all__ = [
    "InvalidToken",
    "KeysUnavailable",
    "Principal",
    "TokenVerifier",
    "check_then_validate",
    "current_principal",
    "guard",
    "new_revocation_check",
    "new_token_verifier",
    "token_revocation",
    "token_verifier",
]
