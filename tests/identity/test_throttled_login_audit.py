"""Throttled logins in the audit log: one event per address and window, in the throttle's own storage
(memory or Redis), and a slow user service never holding a 429 past the internal-call timeout."""

import logging
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask

from auth_service import create_app
from auth_service.settings import AuthSettings
from auth_service.throttled_logins import ThrottledLogins
from monty_common.attempts import AttemptCounter, parse_limit
from monty_common.audit_events import AuditClient
from monty_common.lifecycle import close_app
from support.identity import ADMIN, ADMIN_PASSWORD, Identity
from support.polling import wait_until
from support.problems import assert_problem

# Short windows, so that a test sees one end; the service's own limit is 1/minute.
WINDOW = 3
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    """Each storage of the login counts: this process's memory, and the machine's Redis."""
    if request.param == "memory":
        return "memory://"
    return os.environ.get("MONTY_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def _throttled_events(identity: Identity, address: str) -> list[dict[str, object]]:
    """The login_throttled events of `address`, newest first."""
    admin = identity.bearer(ADMIN, ADMIN_PASSWORD)
    page = requests.get(identity.users.url + "/Audit", params={"limit": 200}, headers=admin, timeout=10)
    assert page.status_code == 200, page.text
    return [
        event
        for event in page.json()["items"]
        if event["action"] == "login_throttled" and event["client"] == address
    ]


def test_one_event_per_address_and_window(identity: Identity, storage: str) -> None:
    """However many throttled logins an address has in a window, one is recorded; the next window
    records one more; another address has its own."""
    throttled = ThrottledLogins(
        AuditClient(identity.users.url, identity.secret, 5.0),
        AttemptCounter(storage),
        parse_limit(f"1 per {WINDOW} seconds"),
    )
    # Addresses of this run only: Redis keeps the counts of earlier runs for a while.
    run = uuid.uuid4().int
    address, other = f"10.{run % 250}.{run // 250 % 250}.1", f"10.{run % 250}.{run // 250 % 250}.2"
    app = Flask(__name__)

    def record(at: str) -> bool:
        with app.test_request_context(environ_base={"REMOTE_ADDR": at}):
            return throttled.record("mallory")

    # In memory the windows are aligned on the clock: start at the beginning of one.
    wait_until(lambda: time.time() % WINDOW < 0.3, WINDOW + 1, "a window to begin", 0.01)
    first_at = time.monotonic()
    assert [record(address) for _ in range(10)] == [True] + [False] * 9
    assert record(other)
    assert len(_throttled_events(identity, address)) == 1
    wait_until(lambda: record(address), WINDOW + 2, "the next window to record again", 0.1)
    assert time.monotonic() - first_at <= WINDOW + 1
    assert len(_throttled_events(identity, address)) == 2
    assert len(_throttled_events(identity, other)) == 1


@pytest.fixture
def auth_app(identity: Identity, tmp_path: Path) -> Iterator[Flask]:
    """An auth app asking the live user service, waiting at most 1 s for it."""
    app = create_app(
        AuthSettings(
            data_dir=tmp_path / "auth",
            users_url=identity.users.url,
            service_secret=identity.secret,
            users_timeout=1.0,
        )
    )
    yield app
    close_app(app)


def test_a_hanging_user_service_holds_the_429_no_longer_than_the_timeout(
    identity: Identity, auth_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """The user service stops answering once the guesses are counted: the 429 comes after about
    MONTY_USERS_TIMEOUT (1 s), unchanged, and the unrecorded event is logged as a warning."""
    client = auth_app.test_client()
    guess = {"username": "mallory", "password": "a guess at a password"}
    address = {"REMOTE_ADDR": "192.0.2.44"}
    for _ in range(5):
        assert client.post("/auth/token", json=guess, environ_base=address).status_code == 401
    with identity.users.paused(), caplog.at_level(logging.WARNING, logger="monty.audit"):
        started = time.monotonic()
        refused = client.post("/auth/token", json=guess, environ_base=address)
        took = time.monotonic() - started
    assert_problem(refused, 429, "too-many-logins")
    assert int(refused.headers["Retry-After"]) >= 1
    assert 1.0 <= took < 2.5
    (warning,) = [record for record in caplog.records if record.name == "monty.audit"]
    assert warning.levelno == logging.WARNING
    assert (warning.__dict__["action"], warning.__dict__["recorded"]) == ("login_throttled", False)
    assert (warning.__dict__["actor"], warning.__dict__["client"]) == ("mallory", "192.0.2.44")
    # The next 429 of the window does not try again: answered at once.
    started = time.monotonic()
    assert client.post("/auth/token", json=guess, environ_base=address).status_code == 429
    assert time.monotonic() - started < 1.0
