"""HTTP routes of the exchange: POST /Message and GET /Consume."""

from functools import partial
from typing import Any

from flask import Response, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from exchange_service.api_models import (
    BatchConsumeQuery,
    BatchPublished,
    ConsumeQuery,
    Published,
    PublishHeaders,
    PublishQuery,
    TakenBatch,
)
from exchange_service.extensions import broker, idempotency_keys, message_schema, producer_stamp
from exchange_service.idempotency import (
    KEY_HEADER,
    REPLAYED_HEADER,
    KeyedRequest,
    publish_batch_once,
    publish_once,
)
from exchange_service.json_batch import BatchLimits, read_json_batch
from exchange_service.json_body import read_json_body, read_json_value
from exchange_service.messaging import (
    iso_time,
    message_headers,
    publish_batch,
    publish_confirmed,
    take_messages,
)
from exchange_service.publish_options import (
    DELAY_DOC,
    HEADER_PREFIX,
    HEADERS_DOC,
    PublishOptions,
    publish_options,
)
from exchange_service.rendering import batch_json, publish_result
from exchange_service.settings import ExchangeSettings
from exchange_service.waiting import client_still_there, take_waiting
from monty_common.auth import current_principal, guard
from monty_common.broker import Abandoned, BrokerUnavailable, Delivery, PublishRejected
from monty_common.broker.problems import broker_problem
from monty_common.envelope import Envelope
from monty_common.metrics import add, instruments
from monty_common.openapi_app import header_doc as header
from monty_common.openapi_app import problem_doc as problem
from monty_common.problems import ProblemError
from monty_common.service_app import current_settings
from monty_common.strict_json import exact_loads

EMPTY_QUEUE_SENTENCE = "There are no Available Messages to Consume."
QUEUE_EMPTY_HEADER = "Monty-Queue-Empty"
BODY_SAFETY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}

api = APIBlueprint("exchange", __name__, abp_tags=[Tag(name="messages", description="Publish and consume")])

UNAUTHORIZED = problem("No valid bearer token (missing, malformed, expired or forged).")
FORBIDDEN = problem("The token's user lacks the role this route needs.")
UNAVAILABLE = problem(
    "Nothing was done: the broker is unreachable, blocks publishers, refused or could not route the "
    "message, or did not answer in time. Retrying is safe.",
    True,
)


INVALID_OPTIONS = problem(
    f"A {HEADER_PREFIX}<name> header breaks a rule (invalid_params names each one and why), or the "
    "delay is longer than MONTY_MAX_DELAY. Nothing was published."
)

KEY_CONFLICT = problem(
    "The Idempotency-Key was first used for a different request (idempotency-key-reused: use a new "
    "key), or its first request is still in progress (idempotency-key-in-use: ask again after "
    "Retry-After seconds). Nothing was published.",
    True,
)
KEY_STORE_UNAVAILABLE = (
    " With an Idempotency-Key, also when the store of keys cannot be reached (idempotency-store-unavailable)."
)
REPLAYED = header(
    f"'true' when the answer is the first outcome of an earlier request with this {KEY_HEADER}."
)


def document_replays(spec: dict[str, Any]) -> None:
    """Name the replay header among the 200 answers of both publish routes (a model has no headers)."""
    for path in ("/Message", "/Messages"):
        spec["paths"][path]["post"]["responses"]["200"].setdefault("headers", {})[REPLAYED_HEADER] = REPLAYED


TOO_MANY_WAITING = problem(
    "With wait: the queue is empty and half the server's request threads already wait; ask again "
    "after Retry-After seconds.",
    True,
)


def _options(query: PublishQuery, settings: ExchangeSettings) -> PublishOptions:
    """The headers and delay the request asks for; 422 if they break a rule."""
    return publish_options(request.headers.items(), query.delay, settings.max_delay)


def _read_message(settings: ExchangeSettings) -> bytes:
    """The request's JSON body, checked against the message schema when one is set."""
    schema = message_schema.get()
    if schema is None:
        return read_json_body(request, settings.max_body_bytes, settings.json_max_depth)
    body, value = read_json_value(request, settings.max_body_bytes, settings.json_max_depth)
    schema.check(value)
    return body


@api.post(
    "/Message",
    summary="Publish any JSON value",
    description=(
        "Publishes the body's exact bytes as a persistent message to the exchange with the routing key. "
        f"Answers 200 only after the broker has confirmed the message. {HEADERS_DOC} {DELAY_DOC} "
        "With an Idempotency-Key, a retry of the request (same key, body, query and Monty-* headers) "
        f"is answered the first 200 again, with {REPLAYED_HEADER}: true, instead of publishing twice; "
        "after a 503 it publishes anew, after a 504 it publishes again under the same message_id."
    ),
    responses={
        200: Published,
        401: UNAUTHORIZED,
        403: FORBIDDEN,
        400: problem(
            "The body is not one UTF-8 JSON value, Content-Type is not application/json, or the "
            "Idempotency-Key is malformed."
        ),
        409: KEY_CONFLICT,
        413: problem("The body is larger than the configured limit (MONTY_MAX_BODY_BYTES)."),
        422: INVALID_OPTIONS,
        503: problem(UNAVAILABLE["description"] + KEY_STORE_UNAVAILABLE, True),
        504: problem(
            "The message was sent but not confirmed in time: it may or may not be stored. "
            "The problem's message_id names it; a retry with the same Idempotency-Key publishes it "
            "again under that message_id.",
            True,
        ),
    },
    openapi_extensions={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}},
    },
    security=[{"bearer": []}],
)
@guard("producer")
def post_message(query: PublishQuery, header: PublishHeaders) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Publish the body and answer with its message_id once the broker has confirmed it."""
    settings = current_settings(ExchangeSettings)
    options = _options(query, settings)
    body = _read_message(settings)

    def publish(message_id: str | None) -> dict[str, Any]:
        message = publish_confirmed(broker.get().publisher, body, current_principal(), options, message_id)
        return Published(
            message_id=message.message_id,
            published_at=message.published_at.isoformat(timespec="milliseconds"),
            exchange=settings.exchange,
            routing_key=settings.routing_key,
            deliver_at=iso_time(message.deliver_at),
        ).model_dump(exclude_none=True)

    try:
        if header.idempotency_key is None:
            return publish(None), 200, {}
        keyed = KeyedRequest.of(request, header.idempotency_key, current_principal().subject)
        answer, headers = publish_once(idempotency_keys.get(), keyed, body, publish, settings.retry_after)
    except (BrokerUnavailable, PublishRejected) as error:
        raise broker_problem(error, settings.retry_after) from error
    return answer, 200, headers


@api.get(
    "/Consume",
    summary="Take one message",
    description=(
        "Takes one message from the queue, acknowledges it, and answers its body exactly as published. "
        f"On an empty queue it answers 200 with the text '{EMPTY_QUEUE_SENTENCE}' and the header "
        f"{QUEUE_EMPTY_HEADER}: true; a message comes with {QUEUE_EMPTY_HEADER}: false. With wait=N "
        "(up to 20 s) an empty queue is watched for N seconds and the first message to arrive is answered "
        "at once (long polling). Header values another AMQP client set outside printable ASCII are "
        "percent-encoded UTF-8 (GET /Consume/batch gives them as JSON text)."
    ),
    responses={
        200: {
            "description": "A message (its own Content-Type), or the empty-queue sentence (text/plain).",
            "headers": {
                QUEUE_EMPTY_HEADER: header("'true' when the queue was empty, 'false' with a message."),
                "Monty-Message-Id": header("The message's message_id."),
                "Monty-Published-At": header("When the message was published (ISO 8601)."),
                "Monty-Redelivered": header("'true' if the broker delivered this message before."),
                "Monty-Messages-Remaining": header("Messages left in the queue after this one.", "integer"),
                "Monty-Producer": header("The producer's user id (the token's sub)."),
                "Monty-Producer-Name": header("The producer's username."),
                "Monty-Request-Id": header("The X-Request-Id of the request that published the message."),
                "Monty-Traceparent": header("The W3C traceparent the publishing request carried, if any."),
                "Monty-Producer-Verified": header(
                    "'true' when the gateway authenticated the producer (its signed stamp, which covers "
                    "the headers below, holds); 'false' for a message published past the gateway, "
                    "whatever its producer header says."
                ),
                f"{HEADER_PREFIX}{{name}}": header(
                    f"One per header its producer attached ({HEADER_PREFIX}<name> on publish), the name in "
                    "lower case; the value percent-encoded as the other Monty-* values (%, spaces and "
                    "anything but visible ASCII as %XX)."
                ),
                "X-Content-Type-Options": header("Always 'nosniff': the body is served as its own type."),
                "Content-Security-Policy": header(
                    "Always \"default-src 'none'; sandbox\": a body a browser renders can run nothing."
                ),
            },
            "content": {
                "application/json": {"schema": {}},
                "text/plain": {"schema": {"type": "string", "enum": [EMPTY_QUEUE_SENTENCE]}},
            },
        },
        401: UNAUTHORIZED,
        403: FORBIDDEN,
        429: TOO_MANY_WAITING,
        503: UNAVAILABLE,
    },
    security=[{"bearer": []}],
)
@guard("consumer")
def consume(query: ConsumeQuery) -> Response:
    """Take one message, or say that there is none (after waiting, if asked to)."""
    taken = _take(1, query.wait)
    delivery = taken[0] if taken else None
    if delivery is None:
        return Response(
            EMPTY_QUEUE_SENTENCE, 200, mimetype="text/plain", headers={QUEUE_EMPTY_HEADER: "true"}
        )
    add(instruments().consumed, "single")
    # The body is whatever a producer sent, served as its own type: a browser must neither guess
    # another type nor run anything it holds (an HTML message with a script, say).
    headers = {QUEUE_EMPTY_HEADER: "false", **message_headers(delivery), **BODY_SAFETY_HEADERS}
    return Response(delivery.body, 200, content_type=Envelope.read(delivery).content_type, headers=headers)


def _take(limit: int, wait: int, max_bytes: int | None = None) -> list[Delivery]:
    """Up to `limit` messages (and about `max_bytes`), waiting up to `wait` seconds for the first; 503
    if the broker fails.

    A request that waits stops waiting, and takes nothing, once its client has gone away.
    """
    still_wanted = client_still_there(request.environ) if wait > 0 else None
    getter = broker.get().getter
    try:
        return take_waiting(
            lambda seconds: take_messages(getter, limit, seconds, max_bytes, still_wanted), wait
        )
    except BrokerUnavailable as error:
        raise broker_problem(error, current_settings(ExchangeSettings).retry_after) from error
    except Abandoned:
        # Nobody reads this answer; the status says so in the access log.
        raise ProblemError(
            499, "client-closed-request", "Client Closed Request", "The client went away; nothing was taken."
        ) from None


@api.get(
    "/Consume/batch",
    summary="Take up to max messages",
    description=(
        "Takes up to max (1 to 100) messages the queue holds, acknowledges them and answers them as "
        "JSON, oldest first: a JSON message's body embedded byte for byte, any other in base64. With "
        "wait=N (up to 20 s) an empty queue is watched for N seconds and the answer comes as soon as a "
        "message arrives; an empty queue gives messages []. A batch also ends once its bodies pass "
        "MONTY_MAX_CONSUME_BATCH_BYTES (4 MiB by default; the message that passes it is included): "
        "byte_limited is then true and count says how many it holds."
    ),
    responses={200: TakenBatch, 401: UNAUTHORIZED, 403: FORBIDDEN, 429: TOO_MANY_WAITING, 503: UNAVAILABLE},
    security=[{"bearer": []}],
)
@guard("consumer")
def consume_batch(query: BatchConsumeQuery) -> Response:
    """Take up to max messages as one JSON answer, written out one message at a time."""
    settings = current_settings(ExchangeSettings)
    taken = _take(query.max, query.wait, settings.max_consume_batch_bytes)
    byte_limited = sum(len(delivery.body) for delivery in taken) >= settings.max_consume_batch_bytes
    if taken:
        add(instruments().consumed, "batch", amount=len(taken))
    return Response(
        batch_json(taken, byte_limited, settings.json_max_depth, producer_stamp.get()),
        200,
        mimetype="application/json",
    )


@api.post(
    "/Messages",
    summary="Publish a batch of JSON values",
    description=(
        "Publishes each element of a JSON array (1 to MONTY_MAX_BATCH_MESSAGES, default 1000) as its own "
        "persistent message, its exact bytes, all in flight together; the confirms are awaited together. "
        "200 when the broker confirmed every message; 207 when some were not, each result giving its "
        "status (503: not stored, safe to retry; 504: outcome unknown) and problem type. A malformed "
        "or too large batch is refused whole (400/413) and nothing is published; if no message could "
        "be stored, the answer is 503 and retrying the whole batch is safe. "
        f"{HEADERS_DOC} {DELAY_DOC} An Idempotency-Key applies to each element (key and index): a "
        "retry of the same batch answers the confirmed elements again (replayed: true) and publishes "
        "only the others (after a 504 under the same message_id); a batch whose elements, length, "
        "query or Monty-* headers differ is refused whole (409)."
    ),
    responses={
        200: BatchPublished,
        207: {
            "description": "Some messages were not confirmed: see each result's status.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchPublished"}}},
            "headers": {"Retry-After": header("Seconds to wait before retrying the failed ones.", "integer")},
        },
        401: UNAUTHORIZED,
        403: FORBIDDEN,
        409: problem(KEY_CONFLICT["description"] + " The problem's index names the element.", True),
        413: problem("The body, or one message, is over its limit, or the batch holds too many messages."),
        422: INVALID_OPTIONS,
        503: problem(UNAVAILABLE["description"] + KEY_STORE_UNAVAILABLE, True),
    },
    openapi_extensions={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "array", "minItems": 1, "items": {}}}},
        },
    },
    security=[{"bearer": []}],
)
@guard("producer")
def post_messages(query: PublishQuery, header: PublishHeaders) -> Response:
    """Publish every message of the batch and answer each one's outcome."""
    settings = current_settings(ExchangeSettings)
    options = _options(query, settings)
    limits = BatchLimits(
        settings.max_batch_bytes,
        settings.max_batch_messages,
        settings.max_body_bytes,
        settings.json_max_depth,
    )
    bodies = read_json_batch(request, limits)
    schema = message_schema.get()
    if schema is not None:
        for index, body in enumerate(bodies):
            schema.check(exact_loads(body, settings.json_max_depth), [index])
    publisher, principal = broker.get().publisher, current_principal()
    result_of = partial(publish_result, retry_after=settings.retry_after)
    try:
        if header.idempotency_key is None:
            outcomes = publish_batch(publisher, bodies, principal, options)
            results = [result_of(outcome) for outcome in outcomes]
        else:
            keyed = KeyedRequest.of(request, header.idempotency_key, principal.subject)
            results, outcomes = publish_batch_once(
                idempotency_keys.get(),
                keyed,
                bodies,
                lambda sent, message_ids: publish_batch(publisher, sent, principal, options, message_ids),
                result_of,
                settings.retry_after,
            )
    except BrokerUnavailable as error:
        raise broker_problem(error, settings.retry_after) from error
    failed = [result for result in results if result["status"] != 200]
    if failed and len(failed) == len(results) and all(result["status"] == 503 for result in failed):
        # Nothing was stored: one problem, as for a single message, and the whole batch may be retried.
        first = outcomes[0].error
        raise broker_problem(
            first
            if isinstance(first, BrokerUnavailable | PublishRejected)
            else BrokerUnavailable(str(first)),
            settings.retry_after,
        )
    answer = BatchPublished.model_validate(
        {"results": results, "published": len(results) - len(failed), "failed": len(failed)}
    )
    response = Response(
        answer.model_dump_json(exclude_none=True), 207 if failed else 200, mimetype="application/json"
    )
    if failed:
        response.headers["Retry-After"] = str(settings.retry_after)
    if all(result.get("replayed") for result in results):
        response.headers[REPLAYED_HEADER] = "true"
    return response
