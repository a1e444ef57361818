"""The gateway's signature over a message (pure logic): what it covers, so a consumer may trust it."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pika

from monty_common.envelope import PRODUCER_SIGNATURE, USER_HEADERS, stamp
from monty_common.producer_stamp import ProducerStamp

SECRET = "test-secret"
BODY = b'{"n": 1}'


def _signed(user_headers: dict[str, str] | None = None) -> pika.BasicProperties:
    """A message's properties as the gateway publishes them."""
    properties = stamp("user-1", "paula", datetime.now(UTC), user_headers=user_headers)
    ProducerStamp(SECRET).sign(properties, BODY)
    return properties


def test_a_signed_message_is_verified_with_its_headers() -> None:
    """The gateway's own stamp holds, with or without client headers."""
    stamp_ = ProducerStamp(SECRET)
    assert stamp_.verified(_signed(), BODY)
    assert stamp_.verified(_signed({"trace": "t-1", "tenant": "acme"}), BODY)


def test_changed_added_or_removed_client_headers_break_the_signature() -> None:
    """The client's headers are signed: a consumer sees them as vouched for only as published."""
    stamp_ = ProducerStamp(SECRET)
    changed = _signed({"tenant": "acme"})
    changed.headers[USER_HEADERS]["tenant"] = "evil"
    added = _signed({"tenant": "acme"})
    added.headers[USER_HEADERS]["admin"] = "yes"
    removed = _signed({"tenant": "acme"})
    del removed.headers[USER_HEADERS]
    planted = _signed()
    planted.headers[USER_HEADERS] = {"tenant": "acme"}
    for properties in (changed, added, removed, planted):
        assert not stamp_.verified(properties, BODY)


def test_another_secret_or_body_is_not_verified() -> None:
    """The signature is the gateway's, over this body."""
    assert not ProducerStamp("another secret").verified(_signed(), BODY)
    assert not ProducerStamp(SECRET).verified(_signed(), b'{"n": 2}')


def test_a_message_signed_before_client_headers_existed_is_still_verified() -> None:
    """Messages a gateway of the first stamp version signed (still queued during an upgrade) hold, as
    long as they carry no client headers: that version never vouched for any."""
    properties = stamp("user-1", "paula", datetime.now(UTC))
    key = hmac.new(SECRET.encode(), b"montyexchange producer stamp v1", hashlib.sha256).digest()
    fields = [
        properties.message_id,
        "user-1",
        "paula",
        properties.headers["published_at"],
        hashlib.sha256(BODY).hexdigest(),
    ]
    properties.headers[PRODUCER_SIGNATURE] = hmac.new(
        key, json.dumps(fields).encode(), hashlib.sha256
    ).hexdigest()
    assert ProducerStamp(SECRET).verified(properties, BODY)
    properties.headers[USER_HEADERS] = {"tenant": "acme"}
    assert not ProducerStamp(SECRET).verified(properties, BODY)
