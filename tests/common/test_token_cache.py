"""Verified tokens are remembered, but never past their expiry or the withdrawal of their key."""

import time
from types import SimpleNamespace

import pytest

from monty_common.auth import verifier as verifier_module
from monty_common.auth.key_set import KeySetTimes
from monty_common.auth.verifier import InvalidToken, TokenVerifier
from support.polling import wait_until
from support.tokens import AUDIENCE, ISSUER, TestKeys


@pytest.fixture
def verifier(test_keys: TestKeys) -> TokenVerifier:
    """A verifier trusting the tests' key."""
    return TokenVerifier(test_keys.jwks_url, ISSUER, AUDIENCE)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The verifier's clocks, which a test moves forward."""
    now = SimpleNamespace(wall=time.time(), mono=time.monotonic())
    fake = SimpleNamespace(time=lambda: now.wall, monotonic=lambda: now.mono)
    monkeypatch.setattr(verifier_module, "time", fake)
    return now


def test_a_remembered_token_is_not_served_past_its_expiry(
    verifier: TokenVerifier, test_keys: TestKeys, clock: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second use skips the signature, not the expiry: past it, the token is checked in full."""
    token = test_keys.token("ada", ["producer"], ttl=60)
    checked = spy_on_signature_checks(verifier, monkeypatch)
    assert verifier.verify(token).subject == "ada"
    assert verifier.verify(token).subject == "ada"
    assert len(checked) == 1
    clock.wall += 60 + verifier_module.LEEWAY_SECONDS + 1
    verifier.verify(token)  # the full check runs on the real clock, where the token is still valid
    assert len(checked) == 2


def spy_on_signature_checks(verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens whose signature and claims `verifier` checks from now on."""
    checked: list[str] = []
    signed = verifier._verify_signed

    def spy(token: str) -> tuple[object, float]:
        checked.append(token)
        return signed(token)

    monkeypatch.setattr(verifier, "_verify_signed", spy)
    return checked


def test_a_remembered_token_is_refused_once_its_key_is_withdrawn() -> None:
    """Remembering a token never outlasts trusting the key that signed it: once the key set, fetched
    again when it ages, no longer holds that key, the token is refused."""
    keys = TestKeys()
    try:
        verifier = TokenVerifier(
            keys.jwks_url, ISSUER, AUDIENCE, key_times=KeySetTimes(lifespan=0.2, min_interval=0.05)
        )
        token = keys.token("ada", ["producer"], ttl=3600)
        assert verifier.verify(token).subject == "ada"
        keys.rotate(keep_previous=False)
        wait_until(lambda: _refused(verifier, token), 10, "the withdrawn key's token to be refused")
    finally:
        keys.close()


def _refused(verifier: TokenVerifier, token: str) -> bool:
    """Whether `verifier` refuses `token` as invalid."""
    try:
        verifier.verify(token)
    except InvalidToken:
        return True
    return False


def test_only_the_exact_token_is_remembered(verifier: TokenVerifier, test_keys: TestKeys) -> None:
    """A token differing from a remembered one only in its signature is checked, and refused."""
    token = test_keys.token("ada", ["producer"])
    verifier.verify(token)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    with pytest.raises(InvalidToken):
        verifier.verify(forged)
