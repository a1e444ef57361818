"""Hashing and checking passwords with Argon2id."""

import secrets
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's minimum for Argon2id: 19 MiB of memory, 2 passes, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)


def hash_password(password: str) -> str:
    """A salted Argon2id hash of the whole password (Argon2 never truncates it)."""
    return HASHER.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    """Whether `password` is the one `password_hash` was made from."""
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than the current ones."""
    return HASHER.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    """A hash no password matches, made once with the current parameters."""
    return HASHER.hash(secrets.token_urlsafe(32))


def spend_verification() -> None:
    """Take as long as checking a real password, so an unknown username answers no faster."""
    password_matches(_dummy_hash(), "not the password")
