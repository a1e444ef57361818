"""The auth service's signing keys: generated once with 0600, or loaded from PEM; published as a JWKS."""

import base64
import hashlib
import json
import stat
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from openapi_spec_validator import validate

from auth_service import create_app
from auth_service.settings import AuthSettings
from auth_service.signing_key import load_or_create
from monty_common.lifecycle import close_app
from monty_common.openapi_app import OPENAPI_URL
from support.file_modes import assert_private, open_to_everyone


def _jwks(settings: AuthSettings) -> dict[str, list[dict[str, str]]]:
    """The JWKS an auth app with `settings` publishes."""
    app = create_app(settings)
    try:
        answer = app.test_client().get("/.well-known/jwks.json")
        assert answer.headers["Cache-Control"].startswith("public")
        jwks: dict[str, list[dict[str, str]]] = answer.get_json()
        return jwks
    finally:
        close_app(app)


def _pem(path: Path) -> Path:
    """Write a new Ed25519 private key to `path`."""
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def test_key_is_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    """First start creates the key (0600); later starts publish the same key id."""
    first = _jwks(AuthSettings(data_dir=tmp_path))
    key_file = tmp_path / "jwt-signing-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "service-secret").stat().st_mode) == 0o600
    assert _jwks(AuthSettings(data_dir=tmp_path)) == first
    assert [key["kty"] for key in first["keys"]] == ["OKP"]
    assert "d" not in first["keys"][0]  # the private part is never published


def test_key_and_secret_left_open_are_made_private(tmp_path: Path) -> None:
    """A signing key and service secret an earlier version left 0644, in a 0755 data directory, are
    0600 in a 0700 directory once the service starts, and still the same key and secret."""
    data = tmp_path / "data"
    first = _jwks(AuthSettings(data_dir=data))
    secret = (data / "service-secret").read_text()
    open_to_everyone(data)
    assert _jwks(AuthSettings(data_dir=data)) == first
    assert (data / "service-secret").read_text() == secret
    assert_private(data)


def test_configured_pem_and_retired_keys_are_published(tmp_path: Path) -> None:
    """A configured key signs; retired keys stay in the JWKS so their tokens verify until they expire."""
    current, retired = _pem(tmp_path / "current.pem"), _pem(tmp_path / "retired.pem")
    jwks = _jwks(
        AuthSettings(data_dir=tmp_path, signing_key_file=current, previous_signing_key_files=[retired])
    )
    kids = [key["kid"] for key in jwks["keys"]]
    assert kids == [load_or_create(current).kid, load_or_create(retired).kid]
    assert not (tmp_path / "jwt-signing-key.pem").exists()


def test_kid_is_the_rfc7638_thumbprint(tmp_path: Path) -> None:
    """Key ids are derived from the key (RFC 7638), so they never collide by accident."""
    key = load_or_create(tmp_path / "k.pem")
    jwk = key.public_jwk
    canonical = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"))
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    assert key.kid == jwk["kid"] == expected


def test_issued_tokens_verify_with_the_published_keys(tmp_path: Path) -> None:
    """A token from the issuer carries every claim and passes the verifier the other services use."""
    app = create_app(AuthSettings(data_dir=tmp_path, token_ttl=120))
    try:
        issued = app.extensions["monty.issuer"].issue("user-1", "Ann", ["consumer"], 3)
        jwk = app.extensions["monty.jwks"]["keys"][0]
        claims = jwt.decode(
            issued.access_token, jwt.PyJWK(jwk).key, algorithms=["EdDSA"], audience="montyexchange"
        )
        assert set(claims) == {"iss", "aud", "sub", "preferred_username", "roles", "iat", "exp", "jti", "ver"}
        assert claims["exp"] - claims["iat"] == 120
        assert claims["ver"] == 3
        assert jwt.get_unverified_header(issued.access_token)["kid"] == jwk["kid"]
    finally:
        close_app(app)


def test_openapi_document_is_valid(tmp_path: Path) -> None:
    """The auth service documents its routes in a valid OpenAPI document."""
    app = create_app(AuthSettings(data_dir=tmp_path))
    try:
        document = app.test_client().get(OPENAPI_URL).get_json()
        validate(document)
        assert "/auth/token" in document["paths"]
    finally:
        close_app(app)


def test_data_directory_is_private(tmp_path: Path) -> None:
    """A data directory the service creates is open to its own user only."""
    close_app(create_app(AuthSettings(data_dir=tmp_path / "fresh")))
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o700
