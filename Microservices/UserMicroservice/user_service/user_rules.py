"""What a username, a password and a role may be."""

from typing import Literal

USERNAME_MAX = 64
USERNAME_PATTERN = r"^[A-Za-z0-9._-]+$"
# OWASP: at least 12 characters; the upper bound only keeps hashing requests cheap to refuse.
PASSWORD_MIN = 12
PASSWORD_MAX = 1024

Role = Literal["admin", "producer", "consumer"]
ADMIN: Role = "admin"


def username_key(username: str) -> str:
    """The form under which usernames are unique: two names differing only in case are one."""
    return username.lower()
