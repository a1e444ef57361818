"""A stand-in for the user service's POST /internal/token-status, as tokens' checkers call it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from monty_common.service_secret import SERVICE_SECRET_HEADER


def _status_handler(directory: "StatusDirectory") -> type[BaseHTTPRequestHandler]:
    """A request handler answering every POST from `directory`."""

    class StatusHandler(BaseHTTPRequestHandler):
        """Answers a user's status."""

        def do_POST(self) -> None:
            """Answer the status of the user the body names, counting the request."""
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, answer = directory.answer(str(body["user_id"]), self.headers.get(SERVICE_SECRET_HEADER))
            encoded = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, *_args: Any) -> None:
            """Stay quiet."""

    return StatusHandler


class StatusDirectory:
    """Users' statuses served on loopback: `set` them, count `requests`, make it `failing` (503)."""

    def __init__(self, secret: str) -> None:
        """Serve no user yet (unknown users are not active)."""
        self.secret = secret
        self.requests = 0
        self.failing = False
        self._statuses: dict[str, tuple[bool, int]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _status_handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """The base URL, as MONTY_USERS_URL names the user service."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def set(self, user_id: str, active: bool = True, token_version: int = 0) -> None:
        """What the user service would say of `user_id` from now on."""
        with self._lock:
            self._statuses[user_id] = (active, token_version)

    def answer(self, user_id: str, secret: str | None) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body of one request, counted."""
        with self._lock:
            self.requests += 1
            if self.failing:
                return 503, {"detail": "failing on purpose"}
            if secret != self.secret:
                return 401, {"detail": "service secret required"}
            active, version = self._statuses.get(user_id, (False, 0))
        return 200, {"user_id": user_id, "active": active, "token_version": version}

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
