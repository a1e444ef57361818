"""Running identity services, as the tests reach them."""

from dataclasses import dataclass

import requests

from support.processes import ServiceProcess

ADMIN = "root-admin"
ADMIN_PASSWORD = "an admin passphrase, long enough"


@dataclass
class Identity:
    """Running user and auth services, and how to reach them."""

    users: ServiceProcess
    auth: ServiceProcess
    secret: str

    @property
    def jwks_url(self) -> str:
        """The auth service's JWKS."""
        return self.auth.url + "/.well-known/jwks.json"

    def login(self, username: str, password: str) -> requests.Response:
        """POST /auth/token."""
        return requests.post(
            self.auth.url + "/auth/token", json={"username": username, "password": password}, timeout=10
        )

    def token(self, username: str, password: str) -> str:
        """A token for valid credentials."""
        response = self.login(username, password)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def bearer(self, username: str, password: str) -> dict[str, str]:
        """An Authorization header for valid credentials."""
        return {"Authorization": f"Bearer {self.token(username, password)}"}

    def create_user(self, admin: dict[str, str], username: str, password: str, roles: list[str]) -> str:
        """Create a user as the admin and return its id."""
        response = requests.post(
            self.users.url + "/users",
            json={"username": username, "password": password, "roles": roles},
            headers=admin,
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])
