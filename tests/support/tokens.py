"""A signing key standing in for the auth service: its JWKS served on loopback, tokens with any claims."""

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ISSUER = "montyexchange-auth"
AUDIENCE = "montyexchange"


def _jwks_handler(keys: "TestKeys") -> type[BaseHTTPRequestHandler]:
    """A request handler answering every GET with the JWKS `keys` publishes (or 503 while it fails)."""

    class JwksHandler(BaseHTTPRequestHandler):
        """Serves the key set."""

        def do_GET(self) -> None:
            """Answer the key set, counting the request."""
            status, body = keys.answer()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            """Stay quiet: services fetch the key set once per process."""

    return JwksHandler


class TestKeys:
    """An Ed25519 key whose JWKS a small HTTP server on loopback publishes, as the auth service does.

    It stands in for the auth service in tests of key rotation and outages too: `rotate` signs with
    a new key (the old one stays published), `failing` makes the JWKS answer 503, and `requests`
    counts the fetches.
    """

    __test__ = False  # not a test class

    def __init__(self) -> None:
        """Generate the key and serve its JWKS."""
        self._lock = threading.Lock()
        self.requests = 0
        self.failing = False
        self._published: list[dict[str, Any]] = []
        self.rotate()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _jwks_handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def rotate(self, keep_previous: bool = True) -> None:
        """Sign with a new key from now on, published first; the previous key stays published unless
        `keep_previous` is False."""
        self.private_key = Ed25519PrivateKey.generate()
        # A key id in the form the auth service uses (a SHA-256 thumbprint, 43 base64url characters).
        self.kid = b64url(hashlib.sha256(self.private_key.public_key().public_bytes_raw()).digest())
        self.public_jwk: dict[str, Any] = json.loads(
            jwt.algorithms.OKPAlgorithm.to_jwk(self.private_key.public_key())
        )
        self.public_jwk.update(kid=self.kid, use="sig", alg="EdDSA")
        with self._lock:
            self._published = [self.public_jwk, *(self._published if keep_previous else [])]

    def answer(self) -> tuple[int, bytes]:
        """The status and body of one JWKS request, counted."""
        with self._lock:
            self.requests += 1
            if self.failing:
                return 503, b'{"detail": "failing on purpose"}'
            return 200, json.dumps({"keys": self._published}).encode()

    @property
    def jwks_url(self) -> str:
        """URL of the JWKS."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"

    def close(self) -> None:
        """Stop serving the JWKS."""
        self._server.shutdown()
        self._server.server_close()

    def claims(self, subject: str, roles: list[str], ttl: int = 300, **extra: Any) -> dict[str, Any]:
        """Claims of a valid access token."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "preferred_username": subject,
            "iat": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
            "roles": roles,
        }
        claims.update(extra)
        return claims

    def token(self, subject: str = "tester", roles: list[str] | None = None, **extra: Any) -> str:
        """A valid EdDSA access token for `subject` with `roles` (claims overridable)."""
        claims = self.claims(subject, roles if roles is not None else ["admin"], **extra)
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": self.kid})

    def bearer(
        self, subject: str = "tester", roles: list[str] | None = None, version: int | None = None
    ) -> dict[str, str]:
        """An Authorization header; `version` is the user's token version (the `ver` claim) if given."""
        extra = {} if version is None else {"ver": version}
        return {"Authorization": f"Bearer {self.token(subject, roles, **extra)}"}


def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A JWT assembled by hand, for attacks no honest library would sign."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{b64url(signature)}"


def forge_hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 JWT signed with `secret` (such as the public key: the algorithm-confusion attack)."""
    unsigned = forge(header, claims).rsplit(".", 1)[0]
    signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
    return f"{unsigned}.{b64url(signature)}"
