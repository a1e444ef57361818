"""Nobody locks an owner out: failures elsewhere, the owner's own successes and proxies in front."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from auth_service import create_app
from auth_service.settings import AuthSettings
from monty_common.lifecycle import close_app
from support.identity import ADMIN, ADMIN_PASSWORD, Identity
from support.ports import free_port
from support.problems import assert_problem

WRONG = "not the password, a guess"


@pytest.fixture
def auth_client(identity: Identity, tmp_path: Path) -> Iterator[Any]:
    """Builds test clients of auth apps asking the live user service, with settings changed per call."""
    apps = []

    def build(**settings: Any) -> FlaskClient:
        app = create_app(
            AuthSettings(
                data_dir=tmp_path / "auth",
                users_url=identity.users.url,
                service_secret=identity.secret,
                **settings,
            )
        )
        apps.append(app)
        return app.test_client()

    yield build
    for app in apps:
        close_app(app)


def _login(client: FlaskClient, password: str, address: str, forwarded_for: str | None = None) -> Any:
    """POST /auth/token for the admin from `address` (the TCP peer), optionally behind a proxy."""
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    return client.post(
        "/auth/token",
        json={"username": ADMIN, "password": password},
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )


def test_failures_spread_over_addresses_do_not_lock_the_owner_out(auth_client: Any) -> None:
    """30 wrong guesses from 6 addresses use up the account's hourly limit: the owner, from an address
    of their own, still logs in; the addresses that guessed are refused."""
    client = auth_client()
    for attempt in range(30):
        assert _login(client, WRONG, f"198.51.100.{attempt % 6}").status_code == 401
    assert _login(client, ADMIN_PASSWORD, "203.0.113.7").status_code == 200
    assert_problem(_login(client, ADMIN_PASSWORD, "198.51.100.0"), 429, "too-many-logins")


def test_the_account_limit_still_refuses_addresses_that_failed(auth_client: Any) -> None:
    """With a loose per-address limit, the account-wide one is what stops guessers spread over many
    addresses: past it, each of them is refused, while a new address is only told its guess is wrong."""
    client = auth_client(login_limit_per_account_address="100 per minute")
    for attempt in range(30):
        assert _login(client, WRONG, f"198.51.100.{attempt % 6}").status_code == 401
    for guesser in range(6):
        refused = _login(client, WRONG, f"198.51.100.{guesser}")
        assert_problem(refused, 429, "too-many-logins")
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert _login(client, WRONG, "203.0.113.7").status_code == 401


def test_successful_logins_never_count(identity: Identity) -> None:
    """A client that logs in before every call (40 times, past every limit) is never throttled, and
    the failures it makes afterwards get the whole allowance."""
    for _ in range(40):
        assert identity.login(ADMIN, ADMIN_PASSWORD).status_code == 200
    assert [identity.login(ADMIN, WRONG).status_code for _ in range(5)] == [401] * 5
    assert_problem(identity.login(ADMIN, ADMIN_PASSWORD), 429, "too-many-logins")


def test_behind_a_trusted_proxy_each_client_is_counted_apart(auth_client: Any) -> None:
    """With MONTY_TRUSTED_PROXIES=1 the address is the one the proxy saw: one client's failures do
    not throttle another client of the same proxy."""
    client = auth_client(trusted_proxies=1)
    for _ in range(5):
        assert _login(client, WRONG, "10.0.0.2", forwarded_for="198.51.100.1").status_code == 401
    assert_problem(_login(client, WRONG, "10.0.0.2", forwarded_for="198.51.100.1"), 429, "too-many-logins")
    assert _login(client, ADMIN_PASSWORD, "10.0.0.2", forwarded_for="198.51.100.2").status_code == 200


def test_without_trusted_proxies_a_forwarded_address_is_ignored(auth_client: Any) -> None:
    """By default X-Forwarded-For is the client's own claim: it cannot buy a guesser fresh limits."""
    client = auth_client()
    for attempt in range(5):
        assert _login(client, WRONG, "198.51.100.1", forwarded_for=f"203.0.113.{attempt}").status_code == 401
    assert_problem(
        _login(client, WRONG, "198.51.100.1", forwarded_for="203.0.113.99"), 429, "too-many-logins"
    )


def test_without_its_counts_store_no_password_is_checked(auth_client: Any) -> None:
    """Redis unreachable: logins are refused with 503 and Retry-After, never checked uncounted."""
    client = auth_client(rate_limit_storage=f"redis://127.0.0.1:{free_port()}/0")
    response = _login(client, ADMIN_PASSWORD, "198.51.100.1")
    assert_problem(response, 503, "throttle-unavailable")
    assert "Retry-After" in response.headers
