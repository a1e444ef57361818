"""What the harness measures: each scenario's server, request and kind of work."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import requests

from loads import HttpLoad

# A 57-byte JSON object: the message every single-message scenario publishes and every fill holds.
BODY = '{"order": 1234, "items": ["a", "b"], "note": "benchmark"}'
# The order message of schemas/order-message.schema.json, for the cost of checking bodies.
ORDER_BODY = (
    '{"order_id": "A-1234", "customer": "bench", "items": [{"sku": "ABC-1", "qty": 2, "unit_price": 9.5}, '
    '{"sku": "XYZ-22", "qty": 1, "unit_price": 19.99}], "note": "benchmark"}'
)
BATCH_SIZE = 100
BATCH_BODY = "[" + ", ".join([BODY] * BATCH_SIZE) + "]"


@dataclass(frozen=True)
class Targets:
    """Where the servers listen and what requests to them must carry."""

    urls: dict[str, str]
    token: str
    management_authorization: str
    exchange: str
    queue: str
    routing_key: str
    visibility: int  # seconds a receive+ack load's receives lease their messages for


def _management_publish(targets: Targets) -> str:
    """The management API's publish request: the same persistent message, to the same exchange."""
    return json.dumps(
        {
            "properties": {"delivery_mode": 2},
            "routing_key": targets.routing_key,
            "payload": BODY,
            "payload_encoding": "string",
        }
    )


def _management_get(_targets: Targets) -> str:
    """The management API's get request: one message, acknowledged (removed) as it is taken."""
    return json.dumps({"count": 1, "ackmode": "ack_requeue_false", "encoding": "auto"})


@dataclass(frozen=True)
class Scenario:
    """One measured load: which server, which request, and whether it publishes or consumes.

    kind is "publish" or "consume" (messages counted from the queue's depth), "noop" (no message),
    or "client" (raw pika from this process, not HTTP). A consume scenario with ack_path receives
    under a lease and acks what it received there (receive_ack.lua).
    """

    name: str
    label: str
    server: str
    kind: str
    method: str = "GET"
    path: str = ""
    body: Callable[[Targets], str] | None = None
    per_request: int = 1  # messages a request carries or takes at most
    # A key the 200 answer's JSON must hold; set on endpoints that may not exist yet, which are
    # skipped with a note while they answer 404.
    expect_key: str | None = None
    ack_path: str | None = None


SCENARIOS = [
    Scenario("gateway-publish", "gateway POST /Message", "gateway", "publish", "POST", "/Message",
             lambda _t: BODY),
    # The same request to the same service under granian instead of gunicorn (the server choice's cost).
    # The same request to a gateway that neither counts nor serves metrics (MONTY_METRICS=false).
    Scenario("gateway-publish-no-metrics", "gateway POST /Message, metrics off", "gateway-no-metrics",
             "publish", "POST", "/Message", lambda _t: BODY),
    Scenario("gateway-publish-granian", "gateway POST /Message, granian", "gateway-granian", "publish",
             "POST", "/Message", lambda _t: BODY),
    Scenario("gateway-batch-publish", f"gateway POST /Messages ({BATCH_SIZE})", "gateway", "publish", "POST",
             "/Messages", lambda _t: BATCH_BODY, BATCH_SIZE, "results"),
    Scenario("management-publish", "management API publish", "management", "publish", "POST",
             "/api/exchanges/%2F/{exchange}/publish", _management_publish),
    Scenario("seed-publish", "seed design POST /Message", "seed", "publish", "POST", "/Message",
             lambda _t: BODY),
    Scenario("noop", "no-op Flask POST", "noop", "noop", "POST", "/noop", lambda _t: BODY),
    Scenario("noop-granian", "no-op Flask POST, granian", "noop-granian", "noop", "POST", "/noop",
             lambda _t: BODY),
    Scenario("gateway-publish-order", "gateway order, no schema", "gateway", "publish", "POST", "/Message",
             lambda _t: ORDER_BODY),
    Scenario("schema-publish-order", "gateway order, schema", "gateway-schema", "publish", "POST",
             "/Message", lambda _t: ORDER_BODY),
    Scenario("gateway-consume", "gateway GET /Consume", "gateway", "consume", "GET", "/Consume"),
    Scenario("gateway-batch-consume", f"gateway GET /Consume/batch ({BATCH_SIZE})", "gateway", "consume",
             "GET", f"/Consume/batch?max={BATCH_SIZE}", None, BATCH_SIZE, "messages"),
    # At least once: a receive under a lease, then an ack of its receipts. The batch takes as many as
    # GET /Consume/batch, so the two rows differ only by the lease and the ack.
    Scenario("gateway-receive-ack", "gateway receive + ack", "gateway", "consume", "POST",
             "/Queues/{queue}/receive?max=1&visibility={visibility}", None, 1, "messages",
             "/Queues/{queue}/ack"),
    Scenario("gateway-receive-ack-batch", f"gateway receive ({BATCH_SIZE}) + ack", "gateway", "consume",
             "POST", f"/Queues/{{queue}}/receive?max={BATCH_SIZE}&visibility={{visibility}}", None,
             BATCH_SIZE, "messages", "/Queues/{queue}/ack"),
    Scenario("management-get", "management API get", "management", "consume", "POST",
             "/api/queues/%2F/{queue}/get", _management_get),
    Scenario("seed-consume", "seed design GET /Consume", "seed", "consume", "GET", "/Consume"),
    Scenario("pika-confirms", "raw pika, streaming confirms", "pika", "client"),
    Scenario("pika-no-confirms", "raw pika, no confirms", "pika", "client"),
]  # fmt: skip
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def _path(template: str, targets: Targets) -> str:
    """A scenario's path with the run's exchange, queue and lease visibility in it."""
    return template.format(
        exchange=quote(targets.exchange, safe=""),
        queue=quote(targets.queue, safe=""),
        visibility=targets.visibility,
    )


def http_load(scenario: Scenario, targets: Targets) -> HttpLoad:
    """The request wrk repeats for `scenario` (the receive, for a receive+ack scenario)."""
    path = _path(scenario.path, targets)
    if scenario.server == "management":
        headers = {"Authorization": targets.management_authorization}
    else:
        # The seed design and the no-op app ignore the token; the gateway verifies it every time.
        headers = {"Authorization": f"Bearer {targets.token}"}
    body = scenario.body(targets) if scenario.body else None
    if body is not None:
        headers["Content-Type"] = "application/json"
    ack_path = None if scenario.ack_path is None else _path(scenario.ack_path, targets)
    return HttpLoad(targets.urls[scenario.server] + path, scenario.method, body, headers, ack_path)


def unavailable(scenario: Scenario, targets: Targets) -> str | None:
    """Why a scenario on a new endpoint cannot run (404 until it lands), or None when it can."""
    if scenario.expect_key is None:
        return None
    load = http_load(scenario, targets)
    response = requests.request(load.method, load.url, data=load.body, headers=load.headers, timeout=30)
    if response.status_code == 404:
        return f"{scenario.method} {scenario.path} answers 404: the endpoint is not there yet"
    if response.status_code != 200:
        return f"{scenario.method} {scenario.path} answers {response.status_code}: {response.text[:200]}"
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or scenario.expect_key not in answer:
        return f"{scenario.method} {scenario.path} answers 200 without {scenario.expect_key!r}"
    return None
