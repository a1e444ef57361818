"""Dead-letter redrives through the live exchange land in the user service's audit log; with the user
service down, the redrive answers as before and the exchange logs the event it could not record."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
import requests

from support.dead_letters import put_foreign
from support.identity import ADMIN
from support.polling import wait_until
from support.processes import ServiceProcess
from support.queue_types import queue_type_under_test
from support.stack import Stack, running_stack

JSON = dict[str, Any]


@pytest.fixture
def stack(amqp_url: str, tmp_path: Path) -> Iterator[Stack]:
    """Users, auth, the exchange (on the tests' queue type) and the archive, for one test."""
    exchange = {"MONTY_QUEUE_TYPE": queue_type_under_test()}
    with running_stack(amqp_url, tmp_path, exchanges={"exchange": exchange}) as running:
        yield running


def _dead_letters(amqp_url: str, stack: Stack, *message_ids: str) -> None:
    """Put dead letters with these ids in the stack's dead-letter queue."""
    for message_id in message_ids:
        properties = pika.BasicProperties(message_id=message_id, content_type="application/json")
        put_foreign(amqp_url, stack.names.queue, b'{"n": 1}', properties)


def _redrive(stack: Stack, admin: dict[str, str], body: JSON, request_id: str) -> requests.Response:
    """POST a redrive of the stack's queue to the exchange."""
    return requests.post(
        f"{stack.services['exchange'].url}/Queues/{stack.names.queue}/dead-letters/redrive",
        json=body,
        headers={**admin, "X-Request-Id": request_id},
        timeout=30,
    )


def _audit_lines(exchange: ServiceProcess, request_id: str) -> list[JSON]:
    """The exchange's monty.audit log lines of the request `request_id`."""
    lines = [json.loads(line) for line in exchange.output().splitlines() if line.startswith("{")]
    return [
        line for line in lines if line.get("name") == "monty.audit" and line.get("request_id") == request_id
    ]


def test_a_redrive_is_recorded_with_its_admin_queue_count_request_id_and_client(
    stack: Stack, amqp_url: str
) -> None:
    """GET /Audit lists the redrive: the admin's id and name, the queue, how many were asked for and
    went back, the status, the redrive's request id and client; the exchange's log line says recorded."""
    _dead_letters(amqp_url, stack, "audited-1", "audited-2")
    admin = {"Authorization": f"Bearer {stack.token()}"}
    answer = _redrive(stack, admin, {"message_ids": ["audited-1", "audited-2", "missing"]}, "redrive-audit-1")
    assert answer.status_code == 200, answer.text
    assert answer.json()["redriven"] == 2
    users = stack.services["users"].url
    admin_id = requests.get(users + "/users/me", headers=admin, timeout=10).json()["id"]
    page = requests.get(users + "/Audit", params={"limit": 20}, headers=admin, timeout=10)
    assert page.status_code == 200, page.text
    (event,) = [event for event in page.json()["items"] if event["action"] == "dead_letters_redriven"]
    assert (event["actor_id"], event["actor"], event["target"]) == (admin_id, ADMIN, stack.names.queue)
    assert (event["request_id"], event["client"], event["outcome"]) == (
        "redrive-audit-1",
        "127.0.0.1",
        "succeeded",
    )
    assert event["details"] == {"requested": 3, "redriven": 2, "status": 200}
    wait_until(
        lambda: bool(_audit_lines(stack.services["exchange"], "redrive-audit-1")),
        10,
        "the redrive's log line",
    )
    (line,) = _audit_lines(stack.services["exchange"], "redrive-audit-1")
    assert (line["level"], line["recorded"], line["target"]) == ("INFO", True, stack.names.queue)


def test_a_redrive_the_user_service_cannot_record_answers_as_before_and_is_logged_whole(
    stack: Stack, amqp_url: str
) -> None:
    """With the user service stopped, the redrive still answers 200 with what went back, and the
    exchange logs the whole event at ERROR with recorded: false."""
    _dead_letters(amqp_url, stack, "unrecorded-1")
    admin = {"Authorization": f"Bearer {stack.token()}"}
    exchange = stack.services["exchange"]
    # The exchange confirms the admin's token with the user service now, and trusts it through the outage.
    listed = requests.get(
        f"{exchange.url}/Queues/{stack.names.queue}/dead-letters", headers=admin, timeout=10
    )
    assert listed.status_code == 200, listed.text
    stack.services["users"].stop()
    answer = _redrive(stack, admin, {"all": True}, "redrive-unrecorded-1")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"redriven": 1, "message_ids": ["unrecorded-1"], "not_found": []}
    wait_until(lambda: bool(_audit_lines(exchange, "redrive-unrecorded-1")), 10, "the redrive's log line")
    (line,) = _audit_lines(exchange, "redrive-unrecorded-1")
    assert (line["level"], line["recorded"]) == ("ERROR", False)
    assert "unreachable" in line["error"]
    assert (line["action"], line["outcome"], line["actor"], line["target"], line["client"]) == (
        "dead_letters_redriven",
        "succeeded",
        ADMIN,
        stack.names.queue,
        "127.0.0.1",
    )
    assert line["actor_id"]
    assert line["details"] == {"requested": "all", "redriven": 1, "status": 200}
