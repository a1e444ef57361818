"""A signing key whose JWKS is served on loopback, standing in for the auth service."""

import base64
import hashlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _jwks_handler(body: bytes) -> type[BaseHTTPRequestHandler]:
    """A request handler answering every GET with `body` as JSON."""

    class JwksHandler(BaseHTTPRequestHandler):
        """Serves the key set."""

        def do_GET(self) -> None:
            """Answer the key set."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            """Stay quiet: the servers fetch the key set once per worker."""

    return JwksHandler


class BenchKeys:
    """An Ed25519 key, its JWKS on a loopback port, and admin tokens it signs."""

    def __init__(self) -> None:
        """Generate the key and serve its JWKS."""
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes_raw()
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).rstrip(b"=").decode()
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        body = json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid}]}).encode()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _jwks_handler(body))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.jwks_url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"

    def token(self, lifetime: int = 3600) -> str:
        """An admin's token (admin passes both the producer and the consumer checks)."""
        now = int(time.time())
        claims = {
            "iss": "montyexchange-auth",
            "aud": "montyexchange",
            "sub": "bench",
            "roles": ["admin"],
            "iat": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def close(self) -> None:
        """Stop serving the key set."""
        self.server.shutdown()
        self.server.server_close()
