"""Checking access tokens locally: EdDSA signatures from a cached JWKS, issuer, audience, expiry."""

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWKClient

ALGORITHMS = ["EdDSA"]
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti"]
ROLES = frozenset({"admin", "producer", "consumer"})
# Key ids are RFC 7638 SHA-256 thumbprints: anything else is refused before the JWKS is consulted,
# so invented key ids cannot make us fetch it again and again.
KEY_ID = re.compile(r"[A-Za-z0-9_-]{43}")
# Tolerated clock difference between the auth service's host and ours.
LEEWAY_SECONDS = 5
# How long fetched keys are trusted before the key set is read again: a key removed from the
# JWKS stops being accepted within this time.
KEYS_LIFESPAN = 300
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


class TokenVerifier:
    """Verifies tokens without calling the auth service per request: its JWKS is fetched and cached,
    and fetched again when a token names an unknown key id."""

    def __init__(self, jwks_url: str, issuer: str, audience: str, timeout: float = 2.0) -> None:
        """Prepare the JWKS client; nothing is fetched until the first token."""
        self.issuer = issuer
        self.audience = audience
        self._jwks = PyJWKClient(
            jwks_url, cache_keys=False, cache_jwk_set=True, lifespan=KEYS_LIFESPAN, timeout=timeout
        )
        # Parsed keys by kid, forgotten with the key set (PyJWT's own key cache never forgets).
        self._keys: dict[str, Any] = {}
        self._keys_since = time.monotonic()
        # token -> (principal, exp, when verified): the exact token string, signature included.
        self._verified: dict[str, tuple[Principal, float, float]] = {}
        self._verified_lock = threading.Lock()

    def _signing_key(self, kid: str) -> Any:
        """The public key named `kid`, parsed once per key-set lifespan."""
        if time.monotonic() - self._keys_since > KEYS_LIFESPAN:
            # Start a new lifespan from a fresh key set, so that no key (and no token it verified)
            # is trusted for longer than KEYS_LIFESPAN after it left the published set.
            self._jwks.get_jwk_set(refresh=True)
            self._keys = {}
            with self._verified_lock:
                self._verified.clear()
            self._keys_since = time.monotonic()
        key = self._keys.get(kid)
        if key is None:
            key = self._jwks.get_signing_key(kid).key
            self._keys[kid] = key
        return key

    def verify(self, token: str) -> Principal:
        """The token's principal, or InvalidToken saying why not.

        A token verified before is trusted again without its signature until it expires, and for
        at most the key set's lifespan, like the key that signed it.
        """
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, expires, verified_at = remembered
            if time.time() < expires + LEEWAY_SECONDS and time.monotonic() - verified_at < KEYS_LIFESPAN:
                return principal
        principal, expires = self._verify_signed(token)
        with self._verified_lock:
            while len(self._verified) >= VERIFIED_TOKENS_KEPT:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = (principal, expires, time.monotonic())
        return principal

    def _verify_signed(self, token: str) -> tuple[Principal, float]:
        """The token's principal and expiry from its signature and claims, or InvalidToken."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken(f"malformed token: {error}") from None
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not KEY_ID.fullmatch(kid):
            raise InvalidToken("the token names no valid key id")
        try:
            key = self._signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            raise KeysUnavailable("the signing keys cannot be fetched") from None
        except jwt.PyJWKClientError:
            raise InvalidToken("unknown key id") from None
        except (jwt.PyJWKSetError, ValueError):
            raise KeysUnavailable("the published signing keys cannot be read") from None
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
        principal = Principal(
            subject=str(claims["sub"]),
            username=str(claims.get("preferred_username", claims["sub"])),
            roles=frozenset(roles) & ROLES,
            token_id=str(claims["jti"]),
        )
        return principal, float(claims["exp"])
