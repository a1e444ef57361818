"""Checking access tokens locally: EdDSA signatures from a cached JWKS, issuer, audience, expiry."""

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt

from monty_common.auth.key_set import KeySetTimes, KeySetUnavailable, PublishedKeys, UnknownKey
from monty_common.metrics import add, instruments

ALGORITHMS = ["EdDSA"]
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti"]
ROLES = frozenset({"admin", "producer", "consumer"})
# Key ids are RFC 7638 SHA-256 thumbprints: anything else is refused before the JWKS is consulted
# (well-formed invented ones make us fetch it at most once per MONTY_JWKS_MIN_INTERVAL).
KEY_ID = re.compile(r"[A-Za-z0-9_-]{43}")
# Tolerated clock difference between the auth service's host and ours.
LEEWAY_SECONDS = 5
# Verified tokens remembered, so a client's next requests skip the signature check (the costliest
# step of a request); oldest forgotten first.
VERIFIED_TOKENS_KEPT = 10_000


class InvalidToken(Exception):
    """The token is missing, malformed, expired, forged or not meant for us."""


class KeysUnavailable(Exception):
    """The auth service's published keys cannot be fetched or read right now."""


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    subject: str
    username: str
    roles: frozenset[str]
    token_id: str
    # The user's token version when the token was issued (`ver`; 0 when absent): a token whose
    # version is older than the user's current one has been revoked.
    token_version: int = 0


class TokenVerifier:
    """Verifies tokens without calling the auth service per request: its JWKS is fetched and kept
    (see PublishedKeys), and fetched again when it ages or a token names an unknown key id."""

    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        audience: str,
        timeout: float = 2.0,
        key_times: KeySetTimes | None = None,
    ) -> None:
        """Prepare the key set; nothing is fetched until the first token."""
        self.issuer = issuer
        self.audience = audience
        self._keys = PublishedKeys(jwks_url, key_times or KeySetTimes(), timeout)
        # token -> (principal, exp, kid): the exact token string, signature included.
        self._verified: dict[str, tuple[Principal, float, str]] = {}
        self._verified_lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        """The token's principal, or InvalidToken saying why not (KeysUnavailable if no key set can
        be trusted now); counted by outcome."""
        outcomes = instruments().token_verifications
        try:
            principal = self._verify(token)
        except KeysUnavailable:
            add(outcomes, "keys_unavailable")
            raise
        except InvalidToken:
            add(outcomes, "invalid")
            raise
        add(outcomes, "valid")
        return principal

    def _verify(self, token: str) -> Principal:
        """The token's principal, or why not.

        A token verified before is trusted again without its signature until it expires, and only
        while the key that signed it is still in the key set.
        """
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, expires, kid = remembered
            if time.time() < expires + LEEWAY_SECONDS:
                self._signing_key(kid)
                return principal
        principal, expires, kid = self._verify_signed(token)
        with self._verified_lock:
            while len(self._verified) >= VERIFIED_TOKENS_KEPT:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = (principal, expires, kid)
        return principal

    def _signing_key(self, kid: str) -> Any:
        """The public key named `kid`, or why there is none to check with."""
        try:
            return self._keys.key(kid)
        except UnknownKey:
            raise InvalidToken("unknown key id") from None
        except KeySetUnavailable as error:
            raise KeysUnavailable(str(error)) from None

    def _verify_signed(self, token: str) -> tuple[Principal, float, str]:
        """The token's principal, expiry and key id from its signature and claims, or InvalidToken."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken(f"malformed token: {error}") from None
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not KEY_ID.fullmatch(kid):
            raise InvalidToken("the token names no valid key id")
        key = self._signing_key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise InvalidToken("the roles claim is not a list of names")
        version = claims.get("ver", 0)
        if type(version) is not int or version < 0:
            raise InvalidToken("the ver claim is not a whole number")
        principal = Principal(
            subject=str(claims["sub"]),
            username=str(claims.get("preferred_username", claims["sub"])),
            roles=frozenset(roles) & ROLES,
            token_id=str(claims["jti"]),
            token_version=version,
        )
        return principal, float(claims["exp"]), kid
