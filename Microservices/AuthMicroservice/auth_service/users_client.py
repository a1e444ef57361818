"""Asking the user service whether credentials are valid (never reading its tables)."""

from dataclasses import dataclass

import requests

from monty_common.service_secret import InternalRoute


class UsersUnavailable(Exception):
    """The user service could not be asked."""


@dataclass(frozen=True)
class VerifiedUser:
    """A user whose credentials the user service accepted, and their current token version."""

    id: str
    username: str
    roles: list[str]
    token_version: int


class UsersClient:
    """Calls the user service's internal credential check with the service secret."""

    def __init__(self, base_url: str, secret: str, timeout: float) -> None:
        """Where the user service is and how to prove we are a service."""
        self.route = InternalRoute(base_url.rstrip("/") + "/internal/credentials", secret, timeout)

    def verify(self, username: str, password: str, client: str | None = None) -> VerifiedUser | None:
        """The user when the credentials are valid, None when they are not; `client` (the login's
        address) goes to the user service's audit log."""
        try:
            response = self.route.post({"username": username, "password": password, "client": client})
        except requests.RequestException as error:
            raise UsersUnavailable(f"user service unreachable: {type(error).__name__}") from None
        if response.status_code == 401 and "invalid-credentials" in response.text:
            return None
        if response.status_code != 200:
            raise UsersUnavailable(f"user service answered {response.status_code}")
        body = response.json()
        return VerifiedUser(
            str(body["id"]),
            str(body["username"]),
            [str(role) for role in body["roles"]],
            int(body["token_version"]),
        )
