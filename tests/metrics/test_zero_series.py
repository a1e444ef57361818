"""Series listed at 0 before their first event: a fresh server's outcomes, and a broker link that
never connected shown down (in multiprocess mode a series would otherwise appear only once written)."""

from pathlib import Path

import requests

from support.amqp_proxy import AmqpProxy
from support.gateways import EXCHANGE_APP, gateway_settings
from support.metrics import Samples, scrape
from support.names import Names
from support.processes import start_service
from support.tokens import TestKeys

AUTH_APP = "Microservices/AuthMicroservice/app.py"
# Every value of each outcome or kind label (the README's metrics table names them).
KNOWN_SERIES = {
    "monty_messages_published_total": (
        "outcome",
        ["confirmed", "nacked", "returned", "unavailable", "unknown"],
    ),
    "monty_messages_consumed_total": ("kind", ["single", "batch", "lease"]),
    "monty_leases_total": ("outcome", ["acked", "nacked", "extended", "expired", "dead_lettered"]),
    "monty_logins_total": ("outcome", ["succeeded", "failed", "throttled"]),
    "monty_token_verifications_total": ("outcome", ["valid", "invalid", "keys_unavailable"]),
    "monty_jwks_fetches_total": ("outcome", ["ok", "failed"]),
}
LINKS = ["publisher", "getter", "leases"]


def listed(samples: Samples, name: str, label: str, value: str) -> float | None:
    """The sample `name`{`label`=`value`}, or None when /metrics does not list it."""
    return samples.get((name, frozenset({(label, value)})))


def assert_known_series_at_zero(samples: Samples) -> None:
    """Every known outcome and kind is listed, at 0."""
    for name, (label, values) in KNOWN_SERIES.items():
        for value in values:
            assert listed(samples, name, label, value) == 0, (name, value)


def test_a_fresh_service_lists_every_outcome_at_zero(tmp_path: Path) -> None:
    """Before any login or token, the auth service's two server processes list each outcome at 0,
    and no broker link (it has none)."""
    auth = start_service(
        AUTH_APP, {"MONTY_DATA_DIR": str(tmp_path), "MONTY_WORKERS": "2"}, tmp_path / "auth.log"
    )
    try:
        auth.wait_healthy()
        samples = scrape(auth.url + "/metrics")
    finally:
        auth.stop()
    assert_known_series_at_zero(samples)
    assert not [key for key in samples if key[0].startswith("monty_broker_")]


def test_a_gateway_whose_broker_went_away_shows_its_links_down(
    amqp_url: str, names: Names, test_keys: TestKeys, tmp_path: Path
) -> None:
    """Before any request every link is listed down (0) with no reconnect, and outcomes at 0; once
    the broker goes silent, /readyz is 503 and the publisher's link is still listed down."""
    proxy = AmqpProxy(amqp_url)
    settings = gateway_settings(proxy.url, names, test_keys.jwks_url) | {
        "MONTY_DATA_DIR": str(tmp_path),
        "MONTY_BROKER_TIMEOUT": "2",
    }
    gateway = start_service(EXCHANGE_APP, settings, tmp_path / "exchange.log")
    try:
        gateway.wait_healthy()
        fresh = scrape(gateway.url + "/metrics")
        proxy.freeze()  # the broker goes silent before any link connected
        assert requests.get(gateway.url + "/readyz", timeout=30).status_code == 503
        cut_off = scrape(gateway.url + "/metrics")
    finally:
        gateway.stop()
        proxy.close()
    assert_known_series_at_zero(fresh)
    for link in LINKS:
        assert listed(fresh, "monty_broker_link_up", "link", link) == 0, link
        assert listed(fresh, "monty_broker_reconnects_total", "link", link) == 0, link
    assert listed(cut_off, "monty_broker_link_up", "link", "publisher") == 0
