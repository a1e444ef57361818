"""The user service's extensions, unbound: each app gets its own in create_app."""

from monty_common.auth import token_verifier
from monty_common.database import Database
from monty_common.service_secret import ServiceSecret

__all__ = ["database", "service_secret", "token_verifier"]

database = Database()
service_secret = ServiceSecret("monty.service_secret")
