"""The exchange over amqps: the broker's certificate verified against MONTY_AMQP_CA_FILE, or refused.

The broker is a node of the tests' own with a TLS listener whose certificate, for "localhost", is
signed by a CA made for the test.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask_openapi3.openapi import OpenAPI
from pydantic import ValidationError

from exchange_service.settings import ExchangeSettings
from monty_common.serving import broker_unreachable
from support.names import Names
from support.ports import free_port
from support.problems import assert_problem
from support.processes import run_to_exit
from support.rabbit_node import RabbitNode
from support.tls import unrelated_ca


@pytest.fixture
def tls_app(
    make_app: Callable[..., OpenAPI], tls_rabbit_node: RabbitNode, tls_node_names: Names
) -> Callable[..., OpenAPI]:
    """Exchange apps on the TLS node's names; amqps by default, trusting the node's CA."""
    assert tls_rabbit_node.tls is not None

    def build(**settings: Any) -> OpenAPI:
        return make_app(
            **{
                "amqp_url": tls_rabbit_node.amqps_url,
                "amqp_ca_file": tls_rabbit_node.tls.ca_file,
                "exchange": tls_node_names.exchange,
                "queue": tls_node_names.queue,
                "routing_key": tls_node_names.routing_key,
                "broker_timeout": 3.0,
                **settings,
            }
        )

    return build


def tls_connections(node: RabbitNode) -> list[str]:
    """Whether each of the exchange service's connections to `node` uses TLS ("true" or "false")."""
    rows = node.ctl("list_connections", "ssl", "client_properties", "--no-table-headers", "-q")
    return [row.split("\t")[0] for row in rows.splitlines() if "monty exchange" in row]


def test_publish_and_consume_over_amqps(tls_app: Callable[..., OpenAPI], tls_rabbit_node: RabbitNode) -> None:
    """With the node's CA trusted, a message goes through the exchange and back over TLS connections."""
    client = tls_app().test_client()
    published = client.post("/Message", json={"over": "tls"})
    assert published.status_code == 200, published.get_json()
    consumed = client.get("/Consume")
    assert consumed.status_code == 200
    assert consumed.get_data() == b'{"over": "tls"}'
    assert consumed.headers["Monty-Message-Id"] == published.get_json()["message_id"]
    assert client.get("/readyz").status_code == 200
    assert tls_connections(tls_rabbit_node) == ["true", "true"]


def test_a_certificate_from_another_ca_is_refused_with_a_clear_503(
    tls_app: Callable[..., OpenAPI], tmp_path: Path
) -> None:
    """Trusting another CA, nothing is sent: 503 saying the broker's certificate was not trusted."""
    client = tls_app(amqp_ca_file=unrelated_ca(tmp_path)).test_client()
    refused = client.post("/Message", json={"a": 1})
    assert_problem(refused, 503, "broker-unavailable")
    detail = refused.get_json()["detail"]
    assert "cannot reach the broker" in detail
    assert "the broker's certificate was refused" in detail
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "the broker's certificate was refused" in ready.get_json()["checks"]["broker_publisher"]


def test_a_certificate_for_another_name_is_refused_without_naming_the_host(
    tls_app: Callable[..., OpenAPI], tls_rabbit_node: RabbitNode
) -> None:
    """The certificate names localhost, the URL 127.0.0.1: refused, and the answer hides the address."""
    url = tls_rabbit_node.amqps_url.replace("localhost", "127.0.0.1")
    refused = tls_app(amqp_url=url).test_client().post("/Message", json={"a": 1})
    assert_problem(refused, 503, "broker-unavailable")
    detail = refused.get_json()["detail"]
    assert "mismatch" in detail
    assert "127.0.0.1" not in detail
    assert "guest" not in detail


def test_the_preflight_checks_the_certificate(tls_rabbit_node: RabbitNode, tmp_path: Path) -> None:
    """The start-up probe connects over amqps with the CA file, and says why when it cannot."""
    assert tls_rabbit_node.tls is not None
    trusted = ExchangeSettings(amqp_url=tls_rabbit_node.amqps_url, amqp_ca_file=tls_rabbit_node.tls.ca_file)
    assert broker_unreachable(trusted) is None
    untrusted = ExchangeSettings(amqp_url=tls_rabbit_node.amqps_url, amqp_ca_file=unrelated_ca(tmp_path))
    reason = broker_unreachable(untrusted)
    assert reason is not None
    assert "the broker's certificate was refused" in reason


def test_a_ca_file_needs_an_amqps_url_and_must_exist(tmp_path: Path) -> None:
    """MONTY_AMQP_CA_FILE with a plain amqp:// URL, or naming no file, is refused at start."""
    ca_file = unrelated_ca(tmp_path)
    with pytest.raises(ValidationError, match="no broker URL is amqps"):
        ExchangeSettings(amqp_url="amqp://guest:guest@localhost:5672/", amqp_ca_file=ca_file)
    result = run_to_exit(
        "Microservices/ExchangeMicroservice/app.py",
        {
            "MONTY_AMQP_URL": f"amqps://guest:guest@localhost:{free_port()}/",
            "MONTY_AMQP_CA_FILE": str(tmp_path / "missing.pem"),
        },
    )
    assert result.returncode == 2
    assert "MONTY_AMQP_CA_FILE" in result.stderr
