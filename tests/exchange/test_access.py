"""Who may publish and consume: bearer tokens verified locally, roles enforced, producers stamped."""

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient

from support.broker_admin import get_raw
from support.names import Names
from support.ports import free_port
from support.problems import assert_problem
from support.tokens import TestKeys, forge, forge_hs256


def _post(client: FlaskClient, token: str | None) -> Any:
    """POST /Message with `token` (no Authorization header when None)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {"Authorization": ""}
    return client.post("/Message", json={"a": 1}, headers=headers)


def assert_401(response: Any) -> None:
    """401 problem+json with a Bearer challenge."""
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_missing_token_is_401_with_a_challenge(client: FlaskClient) -> None:
    """Without a token nothing is published or consumed."""
    assert_401(_post(client, None))
    assert_401(client.get("/Consume", headers={"Authorization": ""}))
    assert_401(client.get("/Consume", headers={"Authorization": "Basic dXNlcjpwYXNz"}))


def test_the_token_is_checked_before_the_query(client: FlaskClient, test_keys: TestKeys) -> None:
    """An invalid query gets 401 without a token and 403 without the role; 400 only once both pass."""
    for path in ("/Consume?wait=abc", "/Consume/batch?max=0"):
        assert_401(client.get(path, headers={"Authorization": ""}))
        assert client.get(path, headers=test_keys.bearer("p", ["producer"])).status_code == 403
        assert client.get(path, headers=test_keys.bearer("c", ["consumer"])).status_code == 400


def _attacks(keys: TestKeys) -> dict[str, str]:
    """Tokens that must all be refused."""
    claims = keys.claims("mallory", ["admin"])
    header = {"alg": "EdDSA", "typ": "JWT", "kid": keys.kid}
    valid = keys.token("mallory", ["producer"])
    head, body, signature = valid.split(".")
    tampered_claims = forge(header, {**keys.claims("mallory", ["admin"])}).split(".")[1]
    public_pem = keys.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    other = Ed25519PrivateKey.generate()
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return {
        "garbage": "not-a-jwt",
        "alg-none": forge({"alg": "none", "typ": "JWT", "kid": keys.kid}, claims),
        "hs256-with-public-pem": forge_hs256(
            {"alg": "HS256", "typ": "JWT", "kid": keys.kid}, claims, public_pem
        ),
        "hs256-with-public-x": forge_hs256(
            {"alg": "HS256", "typ": "JWT", "kid": keys.kid}, claims, keys.public_jwk["x"].encode()
        ),
        "wrong-issuer": keys.token("mallory", ["admin"], iss="someone-else"),
        "wrong-audience": keys.token("mallory", ["admin"], aud="another-api"),
        "expired": keys.token("mallory", ["admin"], exp=1_000_000_000, iat=999_999_000),
        "tampered-payload": f"{head}.{tampered_claims}.{signature}",
        "tampered-signature": f"{head}.{body}.{flipped}",
        "unknown-kid": jwt.encode(claims, other, algorithm="EdDSA", headers={"kid": "unknown"}),
        "signed-by-another-key": jwt.encode(claims, other, algorithm="EdDSA", headers={"kid": keys.kid}),
        "no-kid": jwt.encode(claims, keys.private_key, algorithm="EdDSA"),
        "no-jti": jwt.encode(
            {k: v for k, v in claims.items() if k != "jti"},
            keys.private_key,
            algorithm="EdDSA",
            headers={"kid": keys.kid},
        ),
    }


ATTACKS = [
    "garbage",
    "alg-none",
    "hs256-with-public-pem",
    "hs256-with-public-x",
    "wrong-issuer",
    "wrong-audience",
    "expired",
    "tampered-payload",
    "tampered-signature",
    "unknown-kid",
    "signed-by-another-key",
    "no-kid",
    "no-jti",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_forged_or_invalid_tokens_are_401(
    client: FlaskClient, test_keys: TestKeys, amqp_url: str, names: Names, attack: str
) -> None:
    """Every forged, foreign, expired or malformed token is refused, and nothing is published."""
    assert_401(_post(client, _attacks(test_keys)[attack]))
    client.get("/Consume")  # declares the queue
    assert get_raw(amqp_url, names.queue) is None


def test_the_honest_token_of_the_same_shape_is_accepted(client: FlaskClient, test_keys: TestKeys) -> None:
    """The attacks above fail for what they change, not because every token fails."""
    assert _post(client, test_keys.token("mallory", ["admin"])).status_code == 200


@pytest.mark.parametrize(
    ("roles", "publish", "consume"),
    [
        (["producer"], 200, 403),
        (["consumer"], 403, 200),
        (["admin"], 200, 200),
        (["producer", "consumer"], 200, 200),
        ([], 403, 403),
    ],
)
def test_roles_decide_what_a_user_may_do(
    client: FlaskClient, test_keys: TestKeys, roles: list[str], publish: int, consume: int
) -> None:
    """producer publishes, consumer consumes, admin does both; a valid token without the role is 403."""
    headers = test_keys.bearer("someone", roles)
    published = client.post("/Message", json={"r": roles}, headers=headers)
    assert published.status_code == publish
    consumed = client.get("/Consume", headers=headers)
    assert consumed.status_code == consume
    for response, status in ((published, publish), (consumed, consume)):
        if status == 403:
            assert_problem(response, 403, "forbidden")
            assert "insufficient_scope" in response.headers["WWW-Authenticate"]


def test_producer_identity_is_stamped_on_the_message(
    client: FlaskClient, test_keys: TestKeys, amqp_url: str, names: Names
) -> None:
    """The token's sub travels with the message, for consumers and the archive."""
    response = client.post(
        "/Message", json={"from": "alice"}, headers=test_keys.bearer("alice-id", ["producer"])
    )
    assert response.status_code == 200
    taken = get_raw(amqp_url, names.queue)
    assert taken is not None
    assert taken[1].headers["producer"] == "alice-id"


def test_consumer_sees_who_produced(client: FlaskClient, test_keys: TestKeys) -> None:
    """GET /Consume names the producer in a header."""
    client.post("/Message", json={"x": 1}, headers=test_keys.bearer("bob-id", ["producer"]))
    consumed = client.get("/Consume", headers=test_keys.bearer("carol-id", ["consumer"]))
    assert consumed.headers["Monty-Producer"] == "bob-id"


def test_health_and_docs_need_no_token(client: FlaskClient) -> None:
    """Only health and the OpenAPI document are open."""
    for path in ("/healthz", "/readyz", "/openapi/openapi.json"):
        assert client.get(path, headers={"Authorization": ""}).status_code == 200


def test_unreachable_signing_keys_are_503_not_401(make_app: Any, test_keys: TestKeys) -> None:
    """When the JWKS cannot be fetched the fault is ours: 503 with Retry-After, not a refused token."""
    app = make_app(jwks_url=f"http://127.0.0.1:{free_port()}/.well-known/jwks.json", retry_after=7)
    response = app.test_client().post("/Message", json={"a": 1}, headers=test_keys.bearer("p", ["producer"]))
    assert_problem(response, 503, "keys-unavailable")
    assert response.headers["Retry-After"] == "7"
