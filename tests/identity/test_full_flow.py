"""The whole flow as the README shows it, on SQLite and on PostgreSQL: accounts, logins, roles, messages."""

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from exchange_service import create_app
from exchange_service.settings import ExchangeSettings
from monty_common.lifecycle import close_app
from support.identity import ADMIN, ADMIN_PASSWORD, Identity
from support.names import Names
from support.problems import assert_problem

PRODUCER_PASSWORD = "producer passphrase 1"
CONSUMER_PASSWORD = "consumer passphrase 2"


@pytest.fixture
def exchange(identity: Identity, amqp_url: str, names: Names, tmp_path: Path) -> Iterator[FlaskClient]:
    """The exchange trusting the live auth service's keys, asking the live user service about revocations."""
    app = create_app(
        ExchangeSettings(
            amqp_url=amqp_url,
            exchange=names.exchange,
            queue=names.queue,
            routing_key=names.routing_key,
            jwks_url=identity.jwks_url,
            users_url=identity.users.url,
            service_secret=identity.secret,
            data_dir=tmp_path,
        )
    )
    yield app.test_client()
    close_app(app)


def _claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A JWT's header and claims, unverified (the services verify; this only reads)."""
    head, body, _signature = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(head), decode(body)


def test_admin_creates_users_who_publish_and_consume_by_role(
    identity: Identity, exchange: FlaskClient
) -> None:
    """Admin logs in, creates a producer and a consumer; each does what its role allows and nothing else."""
    admin = identity.bearer(ADMIN, ADMIN_PASSWORD)
    producer_id = identity.create_user(admin, "Paula", PRODUCER_PASSWORD, ["producer"])
    identity.create_user(admin, "Conrad", CONSUMER_PASSWORD, ["consumer"])

    login = identity.login("paula", PRODUCER_PASSWORD)  # usernames are case-insensitive
    assert login.status_code == 200
    answer = login.json()
    assert answer["token_type"] == "bearer"
    assert answer["expires_in"] == 5
    assert login.headers["Cache-Control"] == "no-store"
    header, claims = _claims(answer["access_token"])
    assert header["alg"] == "EdDSA"
    jwks = requests.get(identity.jwks_url, timeout=10).json()
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    assert set(claims) >= {"iss", "aud", "sub", "exp", "iat", "jti", "roles"}
    assert claims["sub"] == producer_id
    assert claims["roles"] == ["producer"]

    producer = {"Authorization": f"Bearer {answer['access_token']}"}
    consumer = identity.bearer("Conrad", CONSUMER_PASSWORD)
    assert exchange.post("/Message", json={"order": 1}, headers=producer).status_code == 200
    assert exchange.get("/Consume", headers=producer).status_code == 403
    assert exchange.post("/Message", json={"order": 2}, headers=consumer).status_code == 403
    consumed = exchange.get("/Consume", headers=consumer)
    assert consumed.get_json() == {"order": 1}
    assert consumed.headers["Monty-Producer"] == producer_id
    assert consumed.headers["Monty-Producer-Name"] == "Paula"
    assert exchange.post("/Message", json={"order": 3}, headers=admin).status_code == 200
    assert exchange.get("/Consume", headers=admin).status_code == 200
    assert exchange.post("/Message", json={"x": 1}).status_code == 401


def test_disabled_and_deleted_users_lose_access(identity: Identity, exchange: FlaskClient) -> None:
    """They cannot log in again, and the tokens they still hold are refused as revoked (the exchange
    asks the user service, never having cached their status)."""
    admin = identity.bearer(ADMIN, ADMIN_PASSWORD)
    disabled_id = identity.create_user(admin, "dora", PRODUCER_PASSWORD, ["producer"])
    deleted_id = identity.create_user(admin, "dave", CONSUMER_PASSWORD, ["consumer"])
    disabled_token = identity.bearer("dora", PRODUCER_PASSWORD)
    deleted_token = identity.bearer("dave", CONSUMER_PASSWORD)

    assert requests.post(f"{identity.users.url}/users/{disabled_id}/disable", headers=admin, timeout=10).ok
    assert (
        requests.delete(f"{identity.users.url}/users/{deleted_id}", headers=admin, timeout=10).status_code
        == 204
    )
    assert identity.login("dora", PRODUCER_PASSWORD).status_code == 401
    assert identity.login("dave", CONSUMER_PASSWORD).status_code == 401

    for response in (
        exchange.post("/Message", json={"late": True}, headers=disabled_token),
        exchange.get("/Consume", headers=deleted_token),
    ):
        problem = assert_problem(response, 401, "unauthorized")
        assert "deleted or disabled" in problem["detail"]
