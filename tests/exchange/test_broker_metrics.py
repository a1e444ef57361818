"""The exchange's broker figures in /metrics: publish outcomes, link state and reconnects."""

from collections.abc import Callable

from flask.testing import FlaskClient
from flask_openapi3.openapi import OpenAPI

from support.amqp_proxy import AmqpProxy
from support.metrics import Samples, parse, value


def _scrape(client: FlaskClient) -> Samples:
    """The app's /metrics (the test process's counts: compare before and after)."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    return parse(answer.get_data(as_text=True))


def test_a_lost_connection_counts_an_unknown_outcome_and_a_reconnect(
    make_app: Callable[..., OpenAPI], amqp_proxy: AmqpProxy
) -> None:
    """A confirm cut off with its connection is a 504 counted "unknown"; the link, ready again on the
    next publish, counts one reconnect and shows up."""
    client = make_app(amqp_url=amqp_proxy.url).test_client()
    assert client.post("/Message", json={"n": 0}).status_code == 200
    before = _scrape(client)
    amqp_proxy.drop_next_confirm()
    assert client.post("/Message", json={"n": 1}).status_code == 504
    assert amqp_proxy.dropped.is_set()
    amqp_proxy.disarm()
    assert client.post("/Message", json={"n": 2}).status_code == 200
    after = _scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("monty_messages_published_total", outcome="unknown") == 1
    assert moved("monty_messages_published_total", outcome="confirmed") == 1
    assert moved("monty_broker_reconnects_total", link="publisher") == 1
    assert value(after, "monty_broker_link_up", link="publisher") == 1
