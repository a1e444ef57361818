"""Who published a message, made verifiable: an HMAC the gateway adds, which consumers of ours check.

Anyone allowed to publish on the broker can set a `producer` header. The exchange signs the
message's id, producer, producer name, publishing time and body digest with a key derived from the
service secret; the exchange (on consume) and the archive report whether that signature holds, so
a producer shown as verified is one the gateway authenticated.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from monty_common.envelope import PRODUCER, PRODUCER_NAME, PRODUCER_SIGNATURE, PUBLISHED_AT, text_value

# Separates this use of the service secret from every other (a key used for one purpose only).
_PURPOSE = b"montyexchange producer stamp v1"


class ProducerStamp:
    """Signs messages the gateway publishes, and checks the signature of any message."""

    def __init__(self, service_secret: str) -> None:
        """Derive the signing key from the services' shared secret."""
        self._key = hmac.new(service_secret.encode(), _PURPOSE, hashlib.sha256).digest()

    def _signature(self, headers: Mapping[str, Any], message_id: object, body: bytes) -> str:
        """The signature of these fields (text values as the envelope reads them)."""
        signed = json.dumps(
            [
                text_value(message_id),
                text_value(headers.get(PRODUCER)),
                text_value(headers.get(PRODUCER_NAME)),
                text_value(headers.get(PUBLISHED_AT)),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        return hmac.new(self._key, signed.encode(), hashlib.sha256).hexdigest()

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
        return hmac.compare_digest(given.encode(), expected.encode())
