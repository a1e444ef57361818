"""Key rotation and auth-service outages, as a verifier sees them: fetches counted at the JWKS."""

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from monty_common.auth import InvalidToken, KeysUnavailable, TokenVerifier
from monty_common.auth.key_set import KeySetTimes
from support.polling import wait_until
from support.tokens import AUDIENCE, ISSUER, TestKeys, b64url


@pytest.fixture
def keys() -> Iterator[TestKeys]:
    """A key set of this test's own, which it may rotate and take down."""
    served = TestKeys()
    yield served
    served.close()


def _verifier(keys: TestKeys, **times: float) -> TokenVerifier:
    """A verifier of `keys`' tokens, with the default key-set times except those given."""
    return TokenVerifier(keys.jwks_url, ISSUER, AUDIENCE, key_times=KeySetTimes(**times))


def _accepted(verifier: TokenVerifier, token: str) -> bool:
    """Whether `verifier` accepts `token` now."""
    try:
        verifier.verify(token)
    except (InvalidToken, KeysUnavailable):
        return False
    return True


def _random_kid_token(keys: TestKeys) -> str:
    """A well-formed token naming a key id nobody published (what an attacker can send at will)."""
    kid = b64url(uuid.uuid4().bytes * 2)[:43]
    return jwt.encode(keys.claims("eve", ["admin"]), Ed25519PrivateKey.generate(), "EdDSA", {"kid": kid})


def test_a_freshly_rotated_key_is_accepted_within_a_second(keys: TestKeys) -> None:
    """A token of a key published after the last fetch makes the verifier fetch the key set again,
    with the default settings as soon as a second has passed since the last fetch: one fetch more."""
    verifier = _verifier(keys)
    assert verifier.verify(keys.token()).subject == "tester"
    keys.rotate()
    rotated = keys.token()
    wait_until(lambda: _accepted(verifier, rotated), 5, "the rotated key's token to be accepted")
    assert keys.requests == 2


def test_invented_key_ids_do_not_hold_a_rotated_key_back(keys: TestKeys) -> None:
    """Tokens naming random key ids are refused, fetch the key set at most once a second, and do not
    delay the acceptance of a real new key."""
    verifier = _verifier(keys)
    verifier.verify(keys.token())
    for _ in range(50):
        with pytest.raises(InvalidToken, match="unknown key id"):
            verifier.verify(_random_kid_token(keys))
    assert keys.requests <= 2
    keys.rotate()
    rotated = keys.token()
    wait_until(lambda: _accepted(verifier, rotated), 5, "the rotated key's token to be accepted")


def test_requests_needing_the_same_fetch_share_it(keys: TestKeys) -> None:
    """Eight requests arriving together with tokens of a key not fetched yet cause one fetch."""
    verifier = _verifier(keys, min_interval=60)
    tokens = [keys.token(f"user-{n}") for n in range(8)]
    start = threading.Barrier(len(tokens))

    def verify(token: str) -> str:
        start.wait()
        return verifier.verify(token).subject

    with ThreadPoolExecutor(len(tokens)) as pool:
        assert sorted(pool.map(verify, tokens)) == sorted(f"user-{n}" for n in range(8))
    assert keys.requests == 1


def test_keys_are_kept_through_an_outage_with_backoff_between_fetches(keys: TestKeys) -> None:
    """Once the keys age while the auth service is down, tokens are still accepted with the keys
    last fetched, and the key set is asked for again only at growing intervals, not per request."""
    verifier = _verifier(keys, lifespan=0.2, min_interval=0.05)
    verifier.verify(keys.token())
    keys.failing = True
    verified = 0
    # Four failed fetches: after 0.2 s, then 0.05, 0.1 and 0.2 s apart (a few seconds at most).
    while keys.requests < 5 and verified < 1_000_000:
        assert verifier.verify(keys.token()).subject == "tester"
        verified += 1
    assert keys.requests == 5
    assert verified >= 40 * (keys.requests - 1)


def test_past_the_outage_grace_tokens_get_503_until_the_auth_service_is_back(keys: TestKeys) -> None:
    """Keys are trusted through an outage for MONTY_JWKS_OUTAGE_GRACE only; then tokens cannot be
    checked (KeysUnavailable: 503), and are accepted again once the key set can be fetched."""
    verifier = _verifier(keys, lifespan=0.1, min_interval=0.05, outage_grace=0.5)
    token = keys.token()
    verifier.verify(token)
    keys.failing = True

    def unavailable() -> bool:
        try:
            verifier.verify(keys.token())
        except KeysUnavailable:
            return True
        return False

    wait_until(unavailable, 10, "the keys to be past their outage grace")
    keys.failing = False
    wait_until(lambda: _accepted(verifier, token), 10, "the key set to be fetched again")


def test_a_new_key_during_an_outage_is_unavailable_not_invalid(keys: TestKeys) -> None:
    """A token naming a key the verifier has not seen, while the key set cannot be fetched, may well
    be valid: it gets 503 (KeysUnavailable), not 401."""
    verifier = _verifier(keys, min_interval=0.05)
    verifier.verify(keys.token())
    keys.failing = True
    keys.rotate()
    rotated = keys.token()

    def unavailable() -> bool:
        try:
            verifier.verify(rotated)
        except KeysUnavailable:
            return True
        except InvalidToken:
            return False  # the last fetch was under 0.05 s ago: it is not fetched again yet
        raise AssertionError("a token of an unpublished key was accepted")

    wait_until(unavailable, 5, "the new key to be reported unavailable")
