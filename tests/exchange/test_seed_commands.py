"""The seed's commands and settings: `python Microservices/ExchangeMicroservice/app.py` on port 9047."""

import os

import pytest
import requests

from exchange_service.settings import ExchangeSettings
from support.ports import free_port
from support.processes import ServiceProcess, run_to_exit
from support.tokens import TestKeys

APP = "Microservices/ExchangeMicroservice/app.py"


def test_defaults_are_the_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Port 9047, monty.exchange, monty-queue, routing key message, the local broker, 1 MiB bodies."""
    for name in [n for n in os.environ if n.startswith("MONTY_")]:
        monkeypatch.delenv(name)
    settings = ExchangeSettings()
    assert settings.port == 9047
    assert settings.exchange == "monty.exchange"
    assert settings.queue == "monty-queue"
    assert settings.routing_key == "message"
    assert settings.amqp_url == "amqp://guest:guest@127.0.0.1:5672/"
    assert settings.max_body_bytes == 1024 * 1024
    assert 5 <= settings.amqp_heartbeat <= 20
    assert settings.broker_timeout <= 5


def test_settings_come_from_monty_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every name and limit can be set through MONTY_ variables."""
    monkeypatch.setenv("MONTY_QUEUE", "other-queue")
    monkeypatch.setenv("MONTY_EXCHANGE", "other.exchange")
    monkeypatch.setenv("MONTY_ROUTING_KEY", "other")
    monkeypatch.setenv("MONTY_MAX_BODY_BYTES", "2048")
    settings = ExchangeSettings()
    assert (settings.queue, settings.exchange, settings.routing_key) == (
        "other-queue",
        "other.exchange",
        "other",
    )
    assert settings.max_body_bytes == 2048


def test_seed_command_serves_publish_and_consume(live_exchange: ServiceProcess, test_keys: TestKeys) -> None:
    """The service started as the seed's README says publishes and consumes over real HTTP."""
    producer = test_keys.bearer("producer-user", ["producer"])
    consumer = test_keys.bearer("consumer-user", ["consumer"])
    published = requests.post(live_exchange.url + "/Message", json={"a": 1}, headers=producer, timeout=10)
    assert published.status_code == 200
    consumed = requests.get(live_exchange.url + "/Consume", headers=consumer, timeout=10)
    assert consumed.content == b'{"a": 1}'
    assert consumed.headers["Monty-Message-Id"] == published.json()["message_id"]
    assert consumed.headers["Monty-Producer"] == "producer-user"
    empty = requests.get(live_exchange.url + "/Consume", headers=consumer, timeout=10)
    assert empty.text == "There are no Available Messages to Consume."
    assert requests.get(live_exchange.url + "/openapi/openapi.json", timeout=10).json()["paths"]["/Message"]


def test_stops_cleanly_on_sigterm(live_exchange: ServiceProcess) -> None:
    """SIGTERM ends the server with status 0."""
    assert requests.get(live_exchange.url + "/readyz", timeout=10).status_code == 200
    assert live_exchange.stop() == 0, live_exchange.output()


def test_unreachable_broker_is_one_clear_line_and_nonzero_exit() -> None:
    """Without a broker the service says so in one line, with how to start one, and exits 1."""
    result = run_to_exit(APP, {"MONTY_AMQP_URL": f"amqp://guest:secret@127.0.0.1:{free_port()}/"})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot reach RabbitMQ" in lines[0]
    assert "rabbitmq-server -detached" in lines[0]
    assert "secret" not in lines[0]


def test_invalid_setting_exits_2_naming_the_variable() -> None:
    """A heartbeat outside 5-20 s is refused at start, not at the first request."""
    result = run_to_exit(APP, {"MONTY_AMQP_HEARTBEAT": "60"})
    assert result.returncode == 2
    assert "MONTY_AMQP_HEARTBEAT" in result.stderr
