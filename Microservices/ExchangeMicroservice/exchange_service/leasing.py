"""Leases below the HTTP layer: receipts issued and read, settling results, leased messages as JSON."""

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from exchange_service.receipts import Receipt, ReceiptSigner
from exchange_service.rendering import delivery_json
from monty_common.broker.lease_book import Outcome
from monty_common.broker.lease_copies import ERROR_MAX
from monty_common.broker.leases import Leased, LeaseRef
from monty_common.envelope import LAST_ERROR
from monty_common.problems import PROBLEM_TYPE_PREFIX
from monty_common.producer_stamp import ProducerStamp

UNKNOWN = Outcome(404, "unknown-receipt", "Not a receipt this gateway issued for this queue.")
NOT_YOURS = Outcome(403, "not-your-lease", "This receipt was issued to another user.")
TITLES = {
    "unknown-receipt": "Unknown Receipt",
    "not-your-lease": "Not Your Lease",
    "lease-gone": "Lease Gone",
    "lease-too-long": "Lease Too Long",
    "lease-outcome-unknown": "Outcome Unknown",
    "broker-unavailable": "Broker Unavailable",
}

Settle = Callable[[list[LeaseRef]], list[Outcome]]


def leased_json(
    messages: list[Leased],
    queue: str,
    owner: str,
    signer: ReceiptSigner,
    stamp: ProducerStamp,
    max_depth: int,
) -> Iterator[bytes]:
    """Leased messages as {"messages": [...], "count": n}, a message at a time."""
    yield b'{"messages": ['
    for number, leased in enumerate(messages):
        receipt = signer.issue(Receipt(queue, leased.ref, owner, leased.delivery.message_id))
        extra = {
            "receipt": receipt,
            "delivery_count": leased.delivery_count,
            "lease_expires_at": leased.expires_at.isoformat(timespec="milliseconds"),
            "last_error": last_error(leased.delivery.headers),
        }
        item = delivery_json(leased.delivery, stamp, max_depth, extra)
        yield (", " if number else "").encode() + item.encode()
    yield f'], "count": {len(messages)}}}'.encode()


def last_error(headers: Mapping[str, Any]) -> str | None:
    """The error the message's last release carried, if any."""
    value = headers.get(LAST_ERROR)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value[:ERROR_MAX] if isinstance(value, str) else None


def settle_receipts(
    texts: list[str], queue: str, owner: str, signer: ReceiptSigner, settle: Settle
) -> list[dict[str, Any]]:
    """Check each receipt, settle the genuine ones of `owner` with `settle`, and give each one's result."""
    receipts = [signer.read(text) for text in texts]
    outcomes: list[Outcome | None] = []
    for receipt in receipts:
        if receipt is None or receipt.queue != queue:
            outcomes.append(UNKNOWN)
        elif receipt.owner != owner:
            outcomes.append(NOT_YOURS)
        else:
            outcomes.append(None)
    genuine = [number for number, outcome in enumerate(outcomes) if outcome is None]
    now = datetime.now(UTC)  # before settling: an extension's reported expiry is never late
    settled = settle([receipts[number].ref for number in genuine]) if genuine else []  # type: ignore[union-attr]
    for number, outcome in zip(genuine, settled, strict=True):
        outcomes[number] = outcome
    return [
        _result(text, receipt, outcome, now)
        for text, receipt, outcome in zip(texts, receipts, outcomes, strict=True)
        if outcome is not None
    ]


def _result(text: str, receipt: Receipt | None, outcome: Outcome, now: datetime) -> dict[str, Any]:
    """One receipt's result as the API answers it."""
    result: dict[str, Any] = {
        "receipt": text,
        "message_id": None if receipt is None else receipt.message_id,
        "status": outcome.status,
    }
    if outcome.ok:
        if outcome.expires_in is not None:
            expiry = now + timedelta(seconds=outcome.expires_in)
            result["lease_expires_at"] = expiry.isoformat(timespec="milliseconds")
        return result
    slug = outcome.slug or "lease-gone"
    result.update(type=PROBLEM_TYPE_PREFIX + slug, title=TITLES.get(slug, slug), detail=outcome.detail)
    return result


def results_json(results: list[dict[str, Any]]) -> str:
    """The answer to ack, nack or extend."""
    failed = sum(1 for result in results if result["status"] != 200)
    return json.dumps({"results": results, "succeeded": len(results) - failed, "failed": failed})
