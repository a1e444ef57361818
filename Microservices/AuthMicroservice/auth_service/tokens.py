"""Issuing short-lived access tokens: EdDSA-signed JWTs naming the user, their roles and the
version of their tokens."""

import time
import uuid
from dataclasses import dataclass

import jwt

from auth_service.signing_key import SigningKey


@dataclass(frozen=True)
class IssuedToken:
    """A signed token and how long it lives."""

    access_token: str
    expires_in: int


class TokenIssuer:
    """Signs tokens with the current key; its kid lets verifiers pick the key from the JWKS."""

    def __init__(self, key: SigningKey, issuer: str, audience: str, ttl: int) -> None:
        """Remember how tokens are signed and what they say."""
        self.key = key
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl

    def issue(self, user_id: str, username: str, roles: list[str], token_version: int = 0) -> IssuedToken:
        """A token for the user, valid for `ttl` seconds, at the user's current token version: the
        token stops working when the user service raises it."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "preferred_username": username,
            "roles": sorted(roles),
            "iat": now,
            "exp": now + self.ttl,
            "jti": str(uuid.uuid4()),
            "ver": token_version,
        }
        token = jwt.encode(claims, self.key.private_key, algorithm="EdDSA", headers={"kid": self.key.kid})
        return IssuedToken(token, self.ttl)
