"""Verified tokens are remembered, but never past their expiry or the key set's lifespan."""

import time
from types import SimpleNamespace

import pytest

from monty_common.auth import verifier as verifier_module
from monty_common.auth.verifier import KEYS_LIFESPAN, InvalidToken, TokenVerifier
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


def test_a_token_is_checked_again_after_the_key_sets_lifespan(
    verifier: TokenVerifier, test_keys: TestKeys, clock: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Remembering a token never outlasts trusting the key that signed it."""
    token = test_keys.token("ada", ["producer"], ttl=3600)
    checked = spy_on_signature_checks(verifier, monkeypatch)
    verifier.verify(token)
    verifier.verify(token)
    assert len(checked) == 1
    clock.mono += KEYS_LIFESPAN + 1
    verifier.verify(token)
    assert len(checked) == 2


def test_only_the_exact_token_is_remembered(verifier: TokenVerifier, test_keys: TestKeys) -> None:
    """A token differing from a remembered one only in its signature is checked, and refused."""
    token = test_keys.token("ada", ["producer"])
    verifier.verify(token)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    with pytest.raises(InvalidToken):
        verifier.verify(forged)
