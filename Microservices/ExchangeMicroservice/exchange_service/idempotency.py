"""Idempotent publish: a request with an Idempotency-Key is published once, and its retries answered
from the first outcome (see idempotency_ledger for the rules)."""

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Request

from exchange_service.idempotency_ledger import Claim, IdempotencyLedger, KeyConflict, Outcome, Replay
from exchange_service.idempotency_records import StoreUnavailable
from exchange_service.messaging import BatchOutcome
from monty_common.broker import BrokerUnavailable, OutcomeUnknown, PublishRejected
from monty_common.problems import ProblemError

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# 1 to 255 visible ASCII characters (no space): a UUID, say.
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
# Request headers that count in a request's fingerprint, whatever their case.
FINGERPRINTED_HEADER_PREFIX = "monty-"

# What a route answers with: the JSON body, and the headers to add.
Answer = tuple[dict[str, Any], dict[str, str]]


def _digest(parts: Iterable[bytes]) -> str:
    """SHA-256 (hex) of `parts`, each prefixed with its length so that no two sequences collide."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class KeyedRequest:
    """A request's Idempotency-Key in its scope (producer and route), and what else identifies it."""

    key: str
    producer: str
    route: str
    query: bytes
    # The Monty-* headers, names lower-cased, sorted.
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, request: Request, key: str, producer: str) -> "KeyedRequest":
        """`request`'s key, scoped to `producer` and the request's route."""
        headers = sorted(
            (name.lower(), value)
            for name, value in request.headers.items()
            if name.lower().startswith(FINGERPRINTED_HEADER_PREFIX)
        )
        return cls(key, producer, request.path, request.query_string, tuple(headers))

    def store_key(self, index: int | None = None) -> str:
        """Where the store keeps the key's record (of batch element `index`)."""
        scope = [self.route, self.producer, self.key, "" if index is None else str(index)]
        return _digest(part.encode() for part in scope)

    def fingerprint(self, *body: bytes) -> str:
        """SHA-256 of `body` (the message, or a batch's length and element), the query string and the
        Monty-* headers: a retry must send the same."""
        headers = (f"{name}:{value}".encode("latin-1") for name, value in self.headers)
        return _digest([*body, self.query, *headers])


def publish_once(
    ledger: IdempotencyLedger,
    keyed: KeyedRequest,
    body: bytes,
    publish: Callable[[str], dict[str, Any]],
    retry_after: int,
) -> Answer:
    """`publish(message_id)`'s answer, once per key: a retry gets the first answer again.

    `publish` raises the broker's errors, which are raised on after the key is settled.
    """
    found = _claim(ledger, [(keyed.store_key(), keyed.fingerprint(body))], retry_after, batch=False)[0]
    if isinstance(found, Replay):
        return json.loads(found.answer), {REPLAYED_HEADER: "true"}
    try:
        answer = publish(found.message_id)
    except BaseException as error:
        ledger.settle([(found, _failure(error), None)])
        raise
    ledger.settle([(found, Outcome.CONFIRMED, json.dumps(answer))])
    return answer, {}


def publish_batch_once(
    ledger: IdempotencyLedger,
    keyed: KeyedRequest,
    bodies: list[bytes],
    publish: Callable[[list[bytes], list[str]], list[BatchOutcome]],
    result_of: Callable[[BatchOutcome], dict[str, Any]],
    retry_after: int,
) -> tuple[list[dict[str, Any]], list[BatchOutcome]]:
    """Each element's result, published once per (key, index): confirmed elements of an earlier
    request are answered again (marked replayed), the others published (under their earlier
    message_id after a 504). Also the outcomes of the elements published now.
    """
    count = str(len(bodies)).encode()
    wanted = [(keyed.store_key(index), keyed.fingerprint(count, body)) for index, body in enumerate(bodies)]
    found = _claim(ledger, wanted, retry_after, batch=True)
    claimed = [(index, claim) for index, claim in enumerate(found) if isinstance(claim, Claim)]
    outcomes: list[BatchOutcome] = []
    if claimed:
        try:
            outcomes = publish(
                [bodies[index] for index, _ in claimed], [claim.message_id for _, claim in claimed]
            )
        except BaseException as error:
            ledger.settle([(claim, _failure(error), None) for _index, claim in claimed])
            raise
    results: list[dict[str, Any]] = [
        {**json.loads(claim.answer), "replayed": True} if isinstance(claim, Replay) else {} for claim in found
    ]
    settled: list[tuple[Claim, Outcome, str | None]] = []
    for (index, claim), outcome in zip(claimed, outcomes, strict=True):
        results[index] = result_of(outcome)
        if outcome.error is None:
            settled.append((claim, Outcome.CONFIRMED, json.dumps(results[index])))
        else:
            settled.append((claim, _failure(outcome.error), None))
    ledger.settle(settled)
    return results, outcomes


def _failure(error: BaseException) -> Outcome:
    """What a publish that raised `error` left behind: nothing stored only for the broker's clear no."""
    if isinstance(error, OutcomeUnknown) or not isinstance(error, BrokerUnavailable | PublishRejected):
        return Outcome.UNKNOWN
    return Outcome.NOT_STORED


def _claim(
    ledger: IdempotencyLedger, wanted: list[tuple[str, str]], retry_after: int, batch: bool
) -> list[Claim | Replay]:
    """The ledger's claims, its refusals as problems: 409 for a key reused or in use, 503 when the
    store cannot be reached (nothing is published then)."""
    try:
        return ledger.claim(wanted)
    except KeyConflict as conflict:
        raise _conflict_problem(conflict, batch) from None
    except StoreUnavailable as error:
        raise ProblemError(
            503,
            "idempotency-store-unavailable",
            "Idempotency Store Unavailable",
            f"The store of Idempotency-Keys cannot be reached ({error}); nothing was published. "
            "Retrying with the same key is safe.",
            {"Retry-After": str(retry_after)},
        ) from None


def _conflict_problem(conflict: KeyConflict, batch: bool) -> ProblemError:
    """409: the key names another request, or one still in progress; nothing was published."""
    where = f" (element {conflict.index})" if batch else ""
    extensions: dict[str, Any] = {"index": conflict.index} if batch else {}
    if conflict.in_use:
        return ProblemError(
            409,
            "idempotency-key-in-use",
            "Idempotency Key In Use",
            f"A request with this Idempotency-Key{where} is still in progress; nothing was published. "
            "Ask again after Retry-After seconds for its outcome.",
            {"Retry-After": "1"},
            **extensions,
        )
    changed = "its bytes, the batch's length" if batch else "its body"
    return ProblemError(
        409,
        "idempotency-key-reused",
        "Idempotency Key Reused",
        f"This Idempotency-Key was first used for a different request{where} ({changed}, the query "
        "string or the Monty-* headers differ); nothing was published. Use a new key for a new request.",
        **extensions,
    )
