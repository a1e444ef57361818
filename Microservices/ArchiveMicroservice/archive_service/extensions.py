"""The archive API's extensions, unbound: each app gets its own in create_app."""

from monty_common.auth import token_revocation, token_verifier
from monty_common.database import Database

__all__ = ["database", "token_revocation", "token_verifier"]

database = Database()
