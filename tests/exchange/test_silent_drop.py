"""A network between gateway and broker that goes silent (nothing forwarded, nothing closed): the
gateway notices within two heartbeats, answers every request within its bound meanwhile, and
publishes again once the network forwards again."""

import threading
import time
from collections.abc import Callable

from flask_openapi3.openapi import OpenAPI

from exchange_service.extensions import broker
from support.amqp_proxy import AmqpProxy
from support.broker_admin import message_ids
from support.names import Names
from support.polling import wait_until
from support.tally import tally

HEARTBEAT = 5
BROKER_TIMEOUT = 2.0
# A request's bound: MONTY_BROKER_TIMEOUT and a little (the answer's own work, a busy machine).
REQUEST_BOUND = BROKER_TIMEOUT + 2.0
# Noticing the silence: two heartbeats, and a little for a busy machine.
DETECTION_BOUND = 2 * HEARTBEAT + 1.0
# Publishing again after the network is back: the links' longest backoff and a connection, as a bound.
RECOVERY_BOUND = 20.0


def test_a_silent_network_is_noticed_within_two_heartbeats_and_requests_keep_their_bound(
    make_app: Callable[..., OpenAPI], amqp_proxy: AmqpProxy, amqp_url: str, names: Names
) -> None:
    """Every request while the network is silent is answered 503 or 504 within its bound; /readyz
    turns 503 within two heartbeats of the drop; after it, publishes are stored again."""
    app = make_app(amqp_url=amqp_proxy.url, amqp_heartbeat=HEARTBEAT, broker_timeout=BROKER_TIMEOUT)
    client = app.test_client()
    sent, answered = 0, []

    def publish(n: int) -> int:
        nonlocal sent
        sent += 1
        started = time.monotonic()
        response = client.post("/Message", json={"n": n})
        took = time.monotonic() - started
        assert took < REQUEST_BOUND, f"a publish took {took:.1f} s (answered {response.status_code})"
        if response.status_code == 200:
            answered.append(response.get_json()["message_id"])
        return response.status_code

    for n in range(5):
        assert publish(n) == 200
    assert client.get("/readyz").status_code == 200
    links = broker.get(app)
    amqp_proxy.freeze()
    try:
        frozen_at = time.monotonic()
        # Requests keep coming meanwhile; each must be answered within its bound (checked in publish).
        statuses: list[int] = []
        publishing = threading.Thread(
            target=lambda: statuses.extend(publish(n) for n in range(10, 16)), daemon=True
        )
        publishing.start()
        wait_until(
            lambda: not links.publisher.link.is_ready and not links.getter.link.is_ready,
            DETECTION_BOUND,
            "the links to notice the silent network",
            0.05,
        )
        detected = time.monotonic() - frozen_at
        print(f"silent drop noticed after {detected:.1f} s (heartbeat {HEARTBEAT} s)")
        publishing.join(6 * REQUEST_BOUND)
        assert len(statuses) == 6
        assert set(statuses) <= {503, 504}, statuses
        ready = client.get("/readyz")
        assert ready.status_code == 503
    finally:
        amqp_proxy.thaw()
    thawed_at = time.monotonic()
    while publish(sent) != 200:
        assert time.monotonic() - thawed_at < RECOVERY_BOUND, "publishing did not resume"
        time.sleep(0.2)
    print(f"publishing resumed {time.monotonic() - thawed_at:.1f} s after the network came back")
    found = [str(id_) for id_ in message_ids(amqp_url, names.queue)]
    result = tally("silent network drop", sent, answered, found)
    assert result.lost == 0
    assert result.duplicated == 0
