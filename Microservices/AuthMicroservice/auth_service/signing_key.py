"""The Ed25519 key that signs access tokens, and the JWKS that publishes its public half."""

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from monty_common.private_files import read_or_create


@dataclass(frozen=True)
class SigningKey:
    """A private key and its key id (the RFC 7638 thumbprint of its public JWK)."""

    private_key: Ed25519PrivateKey
    kid: str

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK."""
        return public_jwk(self.private_key.public_key())


def _b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, Any]:
    """An OKP JWK for `public_key`, with its thumbprint as kid."""
    x = _b64url(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    kid = _b64url(hashlib.sha256(canonical.encode()).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA"}


def _read(path: Path) -> SigningKey:
    """Load a PEM private key."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return SigningKey(key, public_jwk(key.public_key())["kid"])


def _new_pem() -> bytes:
    """A fresh Ed25519 private key in PEM."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_or_create(path: Path) -> SigningKey:
    """The key at `path`, generated there with 0600 permissions if the file does not exist."""
    read_or_create(path, _new_pem)
    return _read(path)


def load(path: Path) -> SigningKey:
    """The configured key at `path` (it must exist)."""
    return _read(path)


def jwks(current: SigningKey, previous: list[SigningKey]) -> dict[str, Any]:
    """The JWKS: the current key first, then retired keys still accepted until their tokens expire."""
    return {"keys": [current.public_jwk, *(key.public_jwk for key in previous)]}
