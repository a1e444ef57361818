"""Lease receipts: opaque strings naming a lease, signed so they can be neither forged nor altered.

A receipt holds the queue, the holder's inbox and delivery tag (which lease), the user it was
issued to, and the message id; an HMAC under a key derived from the services' shared secret makes
it valid on every gateway instance and worker, and nowhere else.
"""

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from monty_common.broker.leases import LeaseRef

# Separates this use of the service secret from every other (a key used for one purpose only).
_PURPOSE = b"montyexchange lease receipt v1"
_VERSION = 1
_MAC_BYTES = 20


@dataclass(frozen=True)
class Receipt:
    """What a receipt says."""

    queue: str
    ref: LeaseRef
    owner: str
    message_id: str | None


class ReceiptSigner:
    """Issues receipts and reads them back, refusing any not issued with the shared secret."""

    def __init__(self, service_secret: str) -> None:
        """Derive the signing key from the services' shared secret."""
        self._key = hmac.new(service_secret.encode(), _PURPOSE, hashlib.sha256).digest()

    def _mac(self, payload: bytes) -> bytes:
        """The payload's signature."""
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def issue(self, receipt: Receipt) -> str:
        """The receipt as an opaque string."""
        payload = json.dumps(
            [_VERSION, receipt.queue, receipt.ref.holder, receipt.ref.tag, receipt.owner, receipt.message_id],
            separators=(",", ":"),
            ensure_ascii=False,  # UTF-8: a non-ASCII id costs its bytes, not six per character
        ).encode()
        return f"{_encode(payload)}.{_encode(self._mac(payload))}"

    def read(self, text: str) -> Receipt | None:
        """The receipt `text` stands for, or None if it is malformed or not signed by us."""
        encoded, _dot, mac = text.partition(".")
        try:
            payload, given = _decode(encoded), _decode(mac)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(given, self._mac(payload)):
            return None
        # Signed by us, so well formed; a receipt of another version is not one we can read.
        fields = json.loads(payload)
        if fields[0] != _VERSION:
            return None
        _version, queue, holder, tag, owner, message_id = fields
        return Receipt(queue, LeaseRef(holder, tag), owner, message_id)


def _encode(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    """The bytes `_encode` turned into `text`; ValueError for anything else.

    Only the one canonical spelling is accepted: base64 decoders skip stray characters and ignore
    the spare bits of the last one, so an altered receipt could otherwise read as the same.
    """
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) if text.isascii() else b""
    if _encode(data) != text:
        raise ValueError("not canonical base64")
    return data
