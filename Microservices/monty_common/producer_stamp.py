"""Who published a message, made verifiable: an HMAC the gateway adds, which consumers of ours check.

Anyone allowed to publish on the broker can set a `producer` header. The exchange signs the
message's id, producer, producer name, publishing time, the client's headers and the body digest
with a key derived from the service secret; the exchange (on consume) and the archive report
whether that signature holds, so a producer (and headers) shown as verified are ones the gateway
authenticated.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from monty_common.envelope import (
    PRODUCER,
    PRODUCER_NAME,
    PRODUCER_SIGNATURE,
    PUBLISHED_AT,
    USER_HEADERS,
    text_value,
)
from monty_common.user_headers import read_user_headers

# Separates this use of the service secret from every other (a key used for one purpose only). v2
# signs the client's headers too; a v1 signature never covered any.
_PURPOSE = b"montyexchange producer stamp v2"
_V1_PURPOSE = b"montyexchange producer stamp v1"


class ProducerStamp:
    """Signs messages the gateway publishes, and checks the signature of any message."""

    def __init__(self, service_secret: str) -> None:
        """Derive the signing keys from the services' shared secret."""
        self._key = hmac.new(service_secret.encode(), _PURPOSE, hashlib.sha256).digest()
        self._v1_key = hmac.new(service_secret.encode(), _V1_PURPOSE, hashlib.sha256).digest()

    @staticmethod
    def _fields(headers: Mapping[str, Any], message_id: object, body: bytes) -> list[Any]:
        """What v1 signed (text values as the envelope reads them)."""
        return [
            text_value(message_id),
            text_value(headers.get(PRODUCER)),
            text_value(headers.get(PRODUCER_NAME)),
            text_value(headers.get(PUBLISHED_AT)),
            hashlib.sha256(body).hexdigest(),
        ]

    def _signature(self, headers: Mapping[str, Any], message_id: object, body: bytes) -> str:
        """The signature of these fields and of the client's headers as the envelope reads them."""
        fields = [*self._fields(headers, message_id, body), read_user_headers(headers.get(USER_HEADERS))]
        signed = json.dumps(fields, sort_keys=True)
        return hmac.new(self._key, signed.encode(), hashlib.sha256).hexdigest()

    def _v1_signature(self, headers: Mapping[str, Any], message_id: object, body: bytes) -> str:
        """The signature a gateway before client headers gave these fields."""
        signed = json.dumps(self._fields(headers, message_id, body))
        return hmac.new(self._v1_key, signed.encode(), hashlib.sha256).hexdigest()

    def sign(self, properties: Any, body: bytes) -> None:
        """Add the signature to the properties of a message the gateway is about to publish."""
        properties.headers[PRODUCER_SIGNATURE] = self._signature(
            properties.headers, properties.message_id, body
        )

    def verified(self, properties: Any, body: bytes) -> bool:
        """Whether the message carries a valid signature of the gateway (so its producer is true)."""
        headers = properties.headers if isinstance(properties.headers, Mapping) else {}
        given = text_value(headers.get(PRODUCER_SIGNATURE))
        if given is None or text_value(headers.get(PRODUCER)) is None:
            return False
        expected = self._signature(headers, properties.message_id, body)
        if hmac.compare_digest(given.encode(), expected.encode()):
            return True
        # Signed by a gateway of the first version (queued across an upgrade): good without headers.
        if USER_HEADERS in headers:
            return False
        legacy = self._v1_signature(headers, properties.message_id, body)
        return hmac.compare_digest(given.encode(), legacy.encode())
