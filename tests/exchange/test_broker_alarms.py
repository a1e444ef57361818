"""Memory and disk alarms: a publish is answered 503 at once while one lasts, the first on a fresh
connection too, /readyz says so, and publishing resumes once it clears (on a node of the tests' own:
the machine's broker is never alarmed)."""

import time
from collections.abc import Callable, Iterator

import pytest
from flask_openapi3.openapi import OpenAPI

from support.broker_admin import message_ids
from support.names import Names
from support.polling import wait_until
from support.rabbit_node import RabbitNode
from support.tally import tally

# What "at once" means here: far below MONTY_BROKER_TIMEOUT (5 s), far above a probe's round trip.
AT_ONCE = 2.0
# How long an alarm takes to be raised or cleared by the node after its limit changes: a bound.
ALARM_BOUND = 30.0

ALARMS = {
    "memory": (("set_vm_memory_high_watermark", "0.00001"), ("set_vm_memory_high_watermark", "0.4")),
    "disk": (("set_disk_free_limit", "1000GB"), ("set_disk_free_limit", "50MB")),
}


def alarms_on(node: RabbitNode) -> str:
    """The node's resource alarms, as it lists them."""
    return node.ctl("eval", "rabbit_alarm:get_alarms().")


@pytest.fixture(params=sorted(ALARMS))
def alarm(request: pytest.FixtureRequest, rabbit_node: RabbitNode) -> Iterator[str]:
    """The node with a memory or a disk alarm on; cleared after the test, whatever happens."""
    kind: str = request.param
    raise_it, clear_it = ALARMS[kind]
    rabbit_node.ctl(*raise_it)
    try:
        wait_until(lambda: kind in alarms_on(rabbit_node), ALARM_BOUND, f"the {kind} alarm", 0.2)
        yield kind
    finally:
        rabbit_node.ctl(*clear_it)
        wait_until(lambda: kind not in alarms_on(rabbit_node), ALARM_BOUND, f"the {kind} alarm to clear", 0.2)


def test_the_first_publish_on_a_fresh_gateway_during_an_alarm_is_503_at_once(
    make_app: Callable[..., OpenAPI], rabbit_node: RabbitNode, node_names: Names, alarm: str
) -> None:
    """A gateway that connects during the alarm knows it before its first publish: 503, not a 5 s
    wait for a 504; /readyz names the alarm; publishing resumes by itself once the alarm clears."""
    client = make_app(
        amqp_url=rabbit_node.amqp_url,
        exchange=node_names.exchange,
        queue=node_names.queue,
        routing_key=node_names.routing_key,
    ).test_client()
    sent, answered = 0, []
    started = time.monotonic()
    first = client.post("/Message", json={"during": alarm})
    sent += 1
    took = time.monotonic() - started
    assert first.status_code == 503, first.get_json()
    assert took < AT_ONCE, f"the first publish during the {alarm} alarm took {took:.1f} s"
    assert "blocking publishers" in first.get_json()["detail"]
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["broker_publisher"] == "blocked by a resource alarm"
    raise_it, clear_it = ALARMS[alarm]
    rabbit_node.ctl(*clear_it)
    deadline = time.monotonic() + ALARM_BOUND
    while time.monotonic() < deadline:
        response = client.post("/Message", json={"after": alarm})
        sent += 1
        if response.status_code == 200:
            answered.append(response.get_json()["message_id"])
            break
        assert response.status_code == 503, response.get_json()
        time.sleep(0.2)
    assert answered, f"publishing did not resume after the {alarm} alarm cleared"
    found = [str(id_) for id_ in message_ids(rabbit_node.amqp_url, node_names.queue)]
    result = tally(f"{alarm} alarm", sent, answered, found)
    assert result.lost == 0
    assert result.duplicated == 0
    assert result.found == 1  # the ones answered 503 were never sent
    rabbit_node.ctl(*raise_it)  # the fixture clears it again, as it would after a failure
