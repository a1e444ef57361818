"""HTTP routes of the exchange: POST /Message and GET /Consume."""

from flask import Response, current_app, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from exchange_service.api_models import Published
from exchange_service.extensions import broker
from exchange_service.json_body import read_json_body, read_json_value
from exchange_service.message_schema import EXTENSION_KEY as MESSAGE_SCHEMA_KEY
from exchange_service.message_schema import MessageSchema
from exchange_service.messaging import content_type, message_headers, publish_confirmed, take_message
from exchange_service.settings import ExchangeSettings
from monty_common.auth import current_principal, require_roles
from monty_common.broker import BrokerUnavailable, PublishRejected
from monty_common.broker.problems import broker_problem
from monty_common.openapi_app import header_doc as header
from monty_common.openapi_app import problem_doc as problem

EMPTY_QUEUE_SENTENCE = "There are no Available Messages to Consume."
QUEUE_EMPTY_HEADER = "Monty-Queue-Empty"

api = APIBlueprint("exchange", __name__, abp_tags=[Tag(name="messages", description="Publish and consume")])

UNAUTHORIZED = problem("No valid bearer token (missing, malformed, expired or forged).")
FORBIDDEN = problem("The token's user lacks the role this route needs.")
UNAVAILABLE = problem(
    "Nothing was done: the broker is unreachable, blocks publishers, refused or could not route the "
    "message, or did not answer in time. Retrying is safe.",
    True,
)


def _settings() -> ExchangeSettings:
    """The current app's settings."""
    settings: ExchangeSettings = current_app.extensions["monty.settings"]
    return settings


def _read_message(limit: int) -> bytes:
    """The request's JSON body, checked against the message schema when one is set."""
    schema: MessageSchema | None = current_app.extensions[MESSAGE_SCHEMA_KEY]
    if schema is None:
        return read_json_body(request, limit)
    body, value = read_json_value(request, limit)
    schema.check(value)
    return body


@api.post(
    "/Message",
    summary="Publish any JSON value",
    description=(
        "Publishes the body's exact bytes as a persistent message to the exchange with the routing key. "
        "Answers 200 only after the broker has confirmed the message."
    ),
    responses={
        200: Published,
        401: UNAUTHORIZED,
        403: FORBIDDEN,
        400: problem("The body is not one UTF-8 JSON value, or Content-Type is not application/json."),
        413: problem("The body is larger than the configured limit (MONTY_MAX_BODY_BYTES)."),
        503: UNAVAILABLE,
        504: problem(
            "The message was sent but not confirmed in time: it may or may not be stored. "
            "The problem's message_id names it.",
            True,
        ),
    },
    openapi_extensions={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}},
    },
    security=[{"bearer": []}],
)
@require_roles("producer")
def post_message() -> tuple[dict[str, str], int]:
    """Publish the body and answer with its message_id once the broker has confirmed it."""
    settings = _settings()
    body = _read_message(settings.max_body_bytes)
    try:
        message = publish_confirmed(broker.links.publisher, body, current_principal())
    except (BrokerUnavailable, PublishRejected) as error:
        raise broker_problem(error, settings.retry_after) from error
    published = Published(
        message_id=message.message_id,
        published_at=message.published_at.isoformat(timespec="milliseconds"),
        exchange=settings.exchange,
        routing_key=settings.routing_key,
    )
    return published.model_dump(), 200


@api.get(
    "/Consume",
    summary="Take one message",
    description=(
        "Takes one message from the queue, acknowledges it, and answers its body exactly as published. "
        f"On an empty queue it answers 200 with the text '{EMPTY_QUEUE_SENTENCE}' and the header "
        f"{QUEUE_EMPTY_HEADER}: true; a message comes with {QUEUE_EMPTY_HEADER}: false."
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
            },
            "content": {
                "application/json": {"schema": {}},
                "text/plain": {"schema": {"type": "string", "enum": [EMPTY_QUEUE_SENTENCE]}},
            },
        },
        401: UNAUTHORIZED,
        403: FORBIDDEN,
        503: UNAVAILABLE,
    },
    security=[{"bearer": []}],
)
@require_roles("consumer")
def consume() -> Response:
    """Take one message, or say that there is none."""
    try:
        delivery = take_message(broker.links.getter)
    except BrokerUnavailable as error:
        raise broker_problem(error, _settings().retry_after) from error
    if delivery is None:
        return Response(
            EMPTY_QUEUE_SENTENCE, 200, mimetype="text/plain", headers={QUEUE_EMPTY_HEADER: "true"}
        )
    headers = {QUEUE_EMPTY_HEADER: "false", **message_headers(delivery)}
    return Response(delivery.body, 200, content_type=content_type(delivery), headers=headers)
