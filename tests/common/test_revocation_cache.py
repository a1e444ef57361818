"""The revocation check: one cached look-up serves many requests, and outages are bounded."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from monty_common.auth import Principal
from monty_common.auth.revocation import RevocationCheck, TokenRevoked, UserDirectory, UserStatusUnavailable
from support.polling import wait_until
from support.user_status import StatusDirectory

SECRET = "a service secret for these tests"


@pytest.fixture
def users() -> Iterator[StatusDirectory]:
    """A stand-in user service knowing one active user, `ada`, at token version 0."""
    directory = StatusDirectory(SECRET)
    directory.set("ada")
    yield directory
    directory.close()


def _check(
    users: StatusDirectory, delay: float = 60, grace: float = 300, secret: str = SECRET
) -> RevocationCheck:
    """A check asking `users`."""
    return RevocationCheck(UserDirectory(users.url, secret, 2.0), delay, grace)


def _principal(subject: str = "ada", version: int = 0) -> Principal:
    """A verified token's principal."""
    return Principal(subject, subject, frozenset({"producer"}), "a-token-id", version)


def _outcome(check: RevocationCheck, principal: Principal) -> str:
    """ "ok", "revoked" or "unavailable"."""
    try:
        check.check(principal)
    except TokenRevoked:
        return "revoked"
    except UserStatusUnavailable:
        return "unavailable"
    return "ok"


def test_one_look_up_serves_every_request_within_the_delay(users: StatusDirectory) -> None:
    """A thousand requests of one user cost one call to the user service (no call per request)."""
    check = _check(users)
    for _ in range(1000):
        check.check(_principal())
    assert users.requests == 1


def test_requests_arriving_together_share_one_look_up(users: StatusDirectory) -> None:
    """Eight requests of a user not seen yet, at the same moment, cause one call."""
    check = _check(users)
    start = threading.Barrier(8)

    def one() -> str:
        start.wait()
        return _outcome(check, _principal())

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda _: one(), range(8))) == ["ok"] * 8
    assert users.requests == 1


def test_a_revocation_is_seen_once_the_cached_status_ages(users: StatusDirectory) -> None:
    """Disabled after its status was cached, the user is refused once the delay has passed."""
    check = _check(users, delay=0.2)
    assert _outcome(check, _principal()) == "ok"
    users.set("ada", active=False)
    wait_until(lambda: _outcome(check, _principal()) == "revoked", 5, "the disabled user to be refused")


def test_tokens_older_than_the_users_version_are_refused(users: StatusDirectory) -> None:
    """A token issued before the user's last revocation (a lower `ver`) is refused; later ones pass."""
    users.set("ada", token_version=2)
    check = _check(users)
    assert [_outcome(check, _principal(version=v)) for v in (0, 1, 2, 3)] == [
        "revoked",
        "revoked",
        "ok",
        "ok",
    ]
    assert _outcome(check, _principal("nobody")) == "revoked"


def test_through_an_outage_known_statuses_last_with_backoff(users: StatusDirectory) -> None:
    """With the user service failing, a known user's status is used for the grace, the service is
    asked again only after growing pauses, and a user never seen cannot be checked."""
    check = _check(users, delay=0.05, grace=60)
    check.check(_principal())
    users.failing = True
    checks = 0
    while users.requests < 3 and checks < 1_000_000:  # two failed look-ups, 0.25 s apart
        assert _outcome(check, _principal()) == "ok"
        checks += 1
    assert users.requests == 3
    assert checks >= 100
    assert _outcome(check, _principal("grace")) == "unavailable"


def test_past_the_grace_known_users_cannot_be_checked_either(users: StatusDirectory) -> None:
    """The outage grace bounds how long a revocation may go unseen while the user service is down."""
    check = _check(users, delay=0.05, grace=0.3)
    check.check(_principal())
    users.failing = True
    wait_until(lambda: _outcome(check, _principal()) == "unavailable", 10, "the grace to end")
    users.failing = False
    wait_until(lambda: _outcome(check, _principal()) == "ok", 10, "the user service to be asked again")


def test_a_wrong_service_secret_is_no_answer(users: StatusDirectory) -> None:
    """The route needs the service secret: without the right one nothing can be checked."""
    assert _outcome(_check(users, secret="not the secret at all"), _principal()) == "unavailable"
