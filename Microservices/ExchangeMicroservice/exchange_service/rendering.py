"""Answers of the batch routes: per-message publish results, and taken messages as JSON."""

import base64
import json
from collections.abc import Iterator, Mapping
from typing import Any

from exchange_service.messaging import BatchOutcome, iso_time
from monty_common.broker import BrokerUnavailable, Delivery, PublishRejected
from monty_common.broker.problems import broker_problem
from monty_common.envelope import Envelope
from monty_common.problems import PROBLEM_TYPE_PREFIX
from monty_common.producer_stamp import ProducerStamp
from monty_common.strict_json import DEFAULT_MAX_DEPTH, is_json


def publish_result(outcome: BatchOutcome, retry_after: int) -> dict[str, Any]:
    """One message's result: 200 with when it was published, or its problem's status and type."""
    result: dict[str, Any] = {"message_id": outcome.message.message_id}
    error = outcome.error
    if error is None:
        result["status"] = 200
        result["published_at"] = iso_time(outcome.message.published_at)
        if outcome.message.deliver_at is not None:
            result["deliver_at"] = iso_time(outcome.message.deliver_at)
        return result
    if not isinstance(error, BrokerUnavailable | PublishRejected):
        error = BrokerUnavailable(str(error))
    problem = broker_problem(error, retry_after)
    result.update(
        status=problem.status,
        type=PROBLEM_TYPE_PREFIX + problem.slug,
        title=problem.title,
        detail=problem.detail,
    )
    return result


def delivery_json(
    delivery: Delivery,
    stamp: ProducerStamp,
    max_depth: int = DEFAULT_MAX_DEPTH,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """A taken message as a JSON object, with `extra` members first; a JSON body is spliced in byte
    for byte, others in base64."""
    envelope = Envelope.read(delivery)
    meta: dict[str, Any] = {
        **(extra or {}),
        "message_id": envelope.message_id,
        "published_at": iso_time(envelope.published_at),
        "redelivered": delivery.redelivered,
        "producer": envelope.producer,
        "producer_name": envelope.producer_name,
        "producer_verified": stamp.verified(delivery, delivery.body),
        "content_type": envelope.content_type,
        "headers": envelope.headers,
        "request_id": envelope.request_id,
        "traceparent": envelope.traceparent,
    }
    head = json.dumps(meta)
    if envelope.is_json:
        try:
            text = delivery.body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and is_json(text, max_depth):
            return f'{head[:-1]}, "body": {text}}}'
    return f'{head[:-1]}, "body_base64": {json.dumps(base64.b64encode(delivery.body).decode())}}}'


def batch_json(
    deliveries: list[Delivery], byte_limited: bool, max_depth: int, stamp: ProducerStamp
) -> Iterator[bytes]:
    """Taken messages as {"messages": [...], "count": n, "byte_limited": ...}, a message at a time, so
    the answer is never held whole beside the messages (it is written after the request's context
    is gone: everything it needs is passed in)."""
    yield b'{"messages": ['
    for number, delivery in enumerate(deliveries):
        yield (", " if number else "").encode() + delivery_json(delivery, stamp, max_depth).encode()
    yield f'], "count": {len(deliveries)}, "byte_limited": {json.dumps(byte_limited)}}}'.encode()
