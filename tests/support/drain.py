"""Requests to a server that is being stopped: each one answered, refused before it was sent, or failed."""

import http.client
import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monty_common.serving import exit_bound
from monty_common.settings import BrokerSettings

# Far more than any answer takes; only turns a request left hanging into a failure that says so.
ANSWER_TIMEOUT = 30.0


@dataclass(frozen=True)
class Outcome:
    """What became of one request: an answer, a refused connection (nothing sent), or a failure."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    refused: bool = False
    failure: str | None = None

    def json(self) -> Any:
        """The answer's JSON body."""
        return json.loads(self.body)


def request(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Outcome:
    """`method path` on `connection` (opened again if the server closed it after its last answer).

    A refused connection is the one failure a client may safely retry (nothing was sent); a reset,
    an end without an answer or a timeout after the request went out are failures.
    """
    try:
        connection.request(method, path, body=body, headers=headers or {})
    except ConnectionRefusedError:
        connection.close()
        return Outcome(refused=True)
    except OSError as error:
        connection.close()
        return Outcome(failure=f"sending {method} {path}: {error!r}")
    try:
        answer = connection.getresponse()
        data = answer.read()
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        return Outcome(failure=f"awaiting the answer to {method} {path}: {error!r}")
    if answer.will_close:
        connection.close()
    return Outcome(answer.status, {key.lower(): value for key, value in answer.getheaders()}, data)


def new_connection(port: int) -> http.client.HTTPConnection:
    """A client connection to the server on `port` (it connects with its first request)."""
    return http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_TIMEOUT)


def one_request(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> Outcome:
    """`method path` on a fresh connection of its own."""
    connection = new_connection(port)
    try:
        return request(connection, method, path, headers, body)
    finally:
        connection.close()


class InBackground:
    """A request made on a thread of its own."""

    def __init__(self, call: Callable[[], Outcome]) -> None:
        """Start `call` now."""
        self._result: list[Outcome] = []
        self._thread = threading.Thread(target=lambda: self._result.append(call()), daemon=True)
        self._thread.start()

    @property
    def done(self) -> Outcome | None:
        """Its outcome if it has one already."""
        return self._result[0] if self._result else None

    def outcome(self, timeout: float) -> Outcome:
        """Its outcome, waiting up to `timeout` seconds for it."""
        self._thread.join(timeout)
        return self._result[0] if self._result else Outcome(failure=f"no answer within {timeout} s")


def group_exited(group: int) -> bool:
    """Whether no process of process group `group` is left."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


def stop_bound(env: Mapping[str, str]) -> float:
    """The seconds a service configured by `env` takes at most from SIGTERM to exit (exit_bound; the
    variables `env` does not set at their defaults)."""
    names = ("drain_seconds", "header_timeout", "body_timeout", "broker_timeout")
    values: dict[str, Any] = {
        name: float(env[f"MONTY_{name.upper()}"]) for name in names if f"MONTY_{name.upper()}" in env
    }
    return exit_bound(BrokerSettings.model_construct(**values))
