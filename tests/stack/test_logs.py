"""Logs and request ids on the live stack: an access line per request, a request id followed from the
publishing request to the consumer and the archive, and no secret in any log, even at DEBUG."""

import base64
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from support.identity import Identity
from support.log_records import logged_with_id
from support.polling import wait_until
from support.raw_http import first_answer, send_raw
from support.stack import Stack, running_stack

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@dataclass
class Producer:
    """A user of the stack who publishes and consumes: their password, token and user id."""

    password: str
    token: str
    sub: str

    @property
    def bearer(self) -> dict[str, str]:
        """Their Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def stack(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every service and the archive worker, all logging at DEBUG; the services behind one proxy."""
    settings = {"MONTY_LOG_LEVEL": "DEBUG", "MONTY_TRUSTED_PROXIES": "1"}
    with running_stack(
        amqp_url, tmp_path_factory.mktemp("logs"), archive_worker=True, common_env=settings
    ) as running:
        yield running


@pytest.fixture(scope="module")
def producer(stack: Stack) -> Producer:
    """A new user with a password of their own, logged in through the live auth service."""
    identity = Identity(stack.services["users"], stack.services["auth"], stack.secret)
    admin = {"Authorization": f"Bearer {stack.token()}"}
    name, password = f"logger-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    user_id = identity.create_user(admin, name, password, ["producer", "consumer"])
    token = identity.token(name, password)
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == user_id
    return Producer(password, token, user_id)


def _log_files(stack: Stack) -> list[Path]:
    """Every log file the stack's processes write (the archive worker's included)."""
    folder = stack.services["exchange"].log_path
    assert folder is not None
    return sorted(folder.parent.glob("*.log"))


def _access_lines(stack: Stack, service: str) -> list[dict[str, Any]]:
    """The access log lines a service wrote so far."""
    path = stack.services[service].log_path
    assert path is not None
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("name") == "monty.access":
                lines.append(record)
    return lines


def _access_line(stack: Stack, service: str, request_id: str) -> dict[str, Any]:
    """The access line of the request `request_id` (written once its answer is sent)."""
    found: list[dict[str, Any]] = []

    def logged() -> bool:
        found[:] = [line for line in _access_lines(stack, service) if line["request_id"] == request_id]
        return bool(found)

    wait_until(logged, 10, f"the access line of {request_id}", 0.1)
    assert len(found) == 1
    return found[0]


def _publish(stack: Stack, producer: Producer, body: dict[str, Any], **headers: str) -> requests.Response:
    """POST /Message with extra headers."""
    return requests.post(
        stack.services["exchange"].url + "/Message",
        json=body,
        headers={**producer.bearer, **headers},
        timeout=10,
    )


def test_a_request_id_is_followed_to_the_consumer_and_the_archive(stack: Stack, producer: Producer) -> None:
    """X-Request-Id abc-123 comes back, travels with the message to GET /Consume, GET /Consume/batch
    and the archive row, with the traceparent; the access line names it."""
    exchange = stack.services["exchange"].url
    published = _publish(stack, producer, {"n": 1}, **{"X-Request-Id": "abc-123", "traceparent": TRACEPARENT})
    assert published.status_code == 200, published.text
    assert published.headers["X-Request-Id"] == "abc-123"
    message_id = published.json()["message_id"]

    consumed = requests.get(exchange + "/Consume", headers=producer.bearer, timeout=10)
    assert consumed.headers["Monty-Message-Id"] == message_id
    assert consumed.headers["Monty-Request-Id"] == "abc-123"
    assert consumed.headers["Monty-Traceparent"] == TRACEPARENT
    # The consume request has an id of its own.
    assert GENERATED_ID.fullmatch(consumed.headers["X-Request-Id"])

    second = _publish(
        stack, producer, {"n": 2}, **{"X-Request-Id": "abc-124", "traceparent": "00-not-a-trace-01"}
    )
    batch = requests.get(exchange + "/Consume/batch", headers=producer.bearer, timeout=10).json()
    [taken] = batch["messages"]
    assert (taken["message_id"], taken["request_id"]) == (second.json()["message_id"], "abc-124")
    assert taken["traceparent"] is None  # one of another form is dropped

    third = _publish(stack, producer, {"n": 3}, **{"X-Request-Id": "abc-125", "traceparent": TRACEPARENT})
    receive = f"{exchange}/Queues/{stack.names.queue}/receive"
    leased = requests.post(receive, headers=producer.bearer, timeout=10).json()["messages"]
    assert [(m["message_id"], m["request_id"], m["traceparent"]) for m in leased] == [
        (third.json()["message_id"], "abc-125", TRACEPARENT)
    ]

    archived: dict[str, Any] = {}

    def archived_now() -> bool:
        answer = requests.get(
            stack.services["archive"].url + f"/Messages/{message_id}", headers=producer.bearer, timeout=10
        )
        archived.update(answer.json())
        return answer.status_code == 200

    wait_until(archived_now, 30, "the archive to store the message", 0.2)
    assert (archived["request_id"], archived["traceparent"]) == ("abc-123", TRACEPARENT)

    line = _access_line(stack, "exchange", "abc-123")
    assert line["route"] == "/Message"
    assert line["status"] == 200
    assert line["user"] == producer.sub


@pytest.mark.parametrize("given", ["a" * 129, "bad id", "semi;colon", ""])
def test_an_invalid_request_id_is_replaced(stack: Stack, given: str) -> None:
    """An X-Request-Id too long or with other characters gives way to a generated one, answered back
    (on a problem too)."""
    answer = requests.get(
        stack.services["exchange"].url + "/Consume", headers={"X-Request-Id": given}, timeout=10
    )
    assert answer.status_code == 401
    assert GENERATED_ID.fullmatch(answer.headers["X-Request-Id"])
    line = _access_line(stack, "exchange", answer.headers["X-Request-Id"])
    assert (line["status"], line["user"]) == (401, None)


def test_every_service_logs_each_request(stack: Stack) -> None:
    """One access line per request on every service, with the route template (never the raw path)."""
    for service, path, route in [
        ("users", f"/users/{uuid.uuid4()}", "/users/<uuid:user_id>"),
        ("auth", "/.well-known/jwks.json", "/.well-known/jwks.json"),
        ("archive", "/Messages/secret-looking-id", "/Messages/<message_id>"),
        ("exchange", "/no/such/route", "unmatched"),
    ]:
        request_id = f"probe-{uuid.uuid4().hex}"
        answer = requests.get(
            stack.services[service].url + path, headers={"X-Request-Id": request_id}, timeout=10
        )
        assert answer.headers["X-Request-Id"] == request_id
        line = _access_line(stack, service, request_id)
        assert line["route"] == route, service
        assert line["method"] == "GET"
        assert line["status"] == answer.status_code
        assert line["client"] == "127.0.0.1"
        assert line["bytes_in"] == 0
        assert line["bytes_out"] == len(answer.content)
        assert line["latency_ms"] >= 0
        assert line["time"]
        assert path not in json.dumps(line) or path == route


def test_the_client_is_the_one_the_trusted_proxy_saw(stack: Stack) -> None:
    """Behind MONTY_TRUSTED_PROXIES=1, the client logged is the address the proxy forwarded for."""
    request_id = f"proxied-{uuid.uuid4().hex}"
    headers = {"X-Request-Id": request_id, "X-Forwarded-For": "203.0.113.7"}
    requests.get(stack.services["exchange"].url + "/healthz", headers=headers, timeout=10)
    line = _access_line(stack, "exchange", request_id)
    assert (line["client"], line["route"], line["status"]) == ("203.0.113.7", "/healthz", 200)


def test_no_secret_is_ever_logged(stack: Stack, producer: Producer) -> None:
    """After logins, publishes and consumes at DEBUG, no log holds a password, a token, the service
    secret or a message body."""
    marker = f"body-marker-{uuid.uuid4().hex}"
    published = _publish(stack, producer, {"secret": marker})
    assert published.status_code == 200, published.text
    consumed = requests.get(stack.services["exchange"].url + "/Consume", headers=producer.bearer, timeout=10)
    assert marker in consumed.text
    wait_until(
        lambda: (
            requests.get(
                stack.services["archive"].url + f"/Messages/{published.json()['message_id']}",
                headers=producer.bearer,
                timeout=10,
            ).status_code
            == 200
        ),
        30,
        "the archive to store the message",
        0.2,
    )
    admin_password = stack.admin[1]
    _access_line(stack, "exchange", consumed.headers["X-Request-Id"])
    secrets = {
        "the password": producer.password,
        "the admin's password": admin_password,
        "the token": producer.token,
        "the token's signature": producer.token.rsplit(".", 1)[1],
        "the service secret": stack.secret,
        "a message body": marker,
    }
    files = _log_files(stack)
    assert len(files) >= 5
    # Every process logged at DEBUG, the archive worker too.
    assert all('"level": "DEBUG"' in path.read_text(errors="replace") for path in files), files
    assert any(_access_lines(stack, service) for service in ("users", "auth", "exchange", "archive"))
    for path in files:
        text = path.read_text(errors="replace")
        # gunicorn's own lines too: every line is one JSON object.
        for line in text.splitlines():
            assert isinstance(json.loads(line), dict), f"{path.name}: {line}"
        for what, secret in secrets.items():
            assert secret not in text, f"{path.name} holds {what}"


def _chunked_post(path: str, chunks: bytes, headers: bytes = b"") -> bytes:
    """A chunked JSON POST to `path` whose body (its chunks, last chunk and trailers) is `chunks`."""
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
    return head + headers + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks


def _get(head_lines: bytes) -> bytes:
    """A GET /healthz with more head lines."""
    return b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + head_lines + b"\r\n"


def test_no_secret_of_a_malformed_request_is_logged(stack: Stack, producer: Producer) -> None:
    """Requests refused for their framing, holding a password, a token or a message body right where
    gunicorn's parser quotes what it refuses (a chunk-size line, a trailer, a header line, the request
    line), are answered with a request id, and no log holds what they carried, at DEBUG."""
    marker = f"body-marker-{uuid.uuid4().hex}"
    login = json.dumps({"username": "someone", "password": producer.password}).encode()
    message = json.dumps({"note": marker}).encode()
    token = producer.token.encode()
    bearer = b"Authorization: Bearer " + token + b"\r\n"
    # The first chunk's size is wrong (2): the rest of the body is read as the next chunk-size line.
    misframed = b"2\r\n" + login[:2] + b"\r\n" + login[2:] + b"\r\n0\r\n\r\n"
    misframed_message = b"2\r\n" + message[:2] + b"\r\n" + message[2:] + b"\r\n0\r\n\r\n"
    cases = [
        ("auth", _chunked_post("/auth/token", misframed), 400),
        ("exchange", _chunked_post("/Message", misframed_message, bearer), 400),
        # A chunk-size line that starts with a hex digit, then a message body.
        ("exchange", _chunked_post("/Message", b"8" + message + b"\r\n", bearer), 400),
        # A trailer line that is a login body: found once the 404 is answered, the body unread.
        ("auth", _chunked_post("/nowhere", b"0\r\n" + login + b"\r\n\r\n"), 404),
        ("exchange", _chunked_post("/Message", b"2\r\n{}\r\n0\r\n" + message + b"\r\n\r\n", bearer), 400),
        *[(service, _get(b"Authorization Bearer " + token + b"\r\n"), 400) for service in stack.services],
        ("exchange", _get(b"Authorization: Bearer " + token + b"\x01\r\n"), 400),
        ("archive", _get(b"X(" + token + b"): y\r\n"), 400),
        ("users", _get(b"Transfer-Encoding: " + token + b"\r\n"), 501),
        ("auth", b"GET /healthz?" + token + b" HTTP/9.9\r\nHost: x\r\n\r\n", 400),
    ]
    for service, request, status in cases:
        server = stack.services[service]
        answer = first_answer(send_raw(server.port or 0, request))
        assert answer.status == status, (service, request[:60], answer)
        # Its log lines are written once it is answered (an access line, or the server's refusal).
        logged_with_id(server, answer.headers["x-request-id"])
    secrets = {"the password": producer.password, "the token": producer.token, "a message body": marker}
    for path in _log_files(stack):
        text = path.read_text(errors="replace")
        for what, secret in secrets.items():
            assert secret not in text, f"{path.name} holds {what}"
