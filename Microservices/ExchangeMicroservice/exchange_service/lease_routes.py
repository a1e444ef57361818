"""HTTP routes of leases: receive messages under a lease, then ack, nack or extend them by receipt."""

from http import HTTPStatus
from typing import Any

from flask import Response, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel

from exchange_service.api_models import (
    AckBody,
    ExtendBody,
    NackBody,
    QueuePath,
    ReceivedMessages,
    ReceiveQuery,
    SettleResults,
)
from exchange_service.extensions import broker, producer_stamp, receipt_signer
from exchange_service.leasing import Settle, leased_json, results_json, settle_receipts
from exchange_service.publish_options import check_delay
from exchange_service.queues import known_queue
from exchange_service.settings import ExchangeSettings
from exchange_service.waiting import client_still_there, take_waiting
from monty_common.auth import current_principal, guard
from monty_common.broker import Abandoned, BrokerUnavailable
from monty_common.broker.lease_budget import LeaseCapacityExceeded
from monty_common.broker.problems import broker_problem
from monty_common.metrics import add, instruments
from monty_common.openapi_app import problem_doc as problem
from monty_common.problems import ProblemError
from monty_common.service_app import current_settings

leases_api = APIBlueprint(
    "leases",
    __name__,
    abp_tags=[
        Tag(
            name="leases",
            description="At-least-once consumption: receive messages under a lease, then ack, nack or "
            "extend them by receipt, on any gateway instance.",
        )
    ],
)

UNAUTHORIZED = problem("No valid bearer token (missing, malformed, expired or forged).")
FORBIDDEN = problem("The token's user lacks the consumer role.")
UNKNOWN_QUEUE = problem("This gateway serves no queue of that name.")
INVALID = problem("A parameter or the body is invalid (see invalid_params); nothing was done.")
UNAVAILABLE = problem("The broker is unreachable or did not answer in time; nothing was received.", True)
SETTLED: dict[str | int | HTTPStatus, type[BaseModel] | dict[Any, Any] | None] = {
    200: SettleResults,
    207: {
        "description": "Some receipts were not settled: see each result's status.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SettleResults"}}},
    },
    400: INVALID,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: UNKNOWN_QUEUE,
    503: problem("The broker is unreachable: nothing was settled.", True),
}
SETTLE_NOTE = (
    " Any gateway instance and worker may be asked: the lease's holder is reached through the broker."
    " Each receipt gets its own result (200 done; 404 unknown receipt; 403 another user's lease;"
    " 410 lease gone: it expired, was settled, or its holder died, so the message is or will be"
    " delivered again; 503/504 its holder could not be reached or did not answer). The answer is 200"
    " when every receipt succeeded, else 207."
)


def _too_long(name: str, value: int, limit: int) -> ProblemError:
    """400 for a visibility past its configured maximum."""
    return ProblemError(
        400,
        "invalid-parameters",
        "Invalid Request",
        f"Invalid parameter(s): {name}.",
        invalid_params=[{"name": name, "reason": f"at most {limit} seconds (MONTY_MAX_VISIBILITY)"}],
    )


@leases_api.post(
    "/Queues/<queue>/receive",
    summary="Receive messages under a lease",
    description=(
        "Leases up to max (1 to 100) messages, oldest first: each stays in the broker, invisible to other "
        "consumers, until you ack it, nack it, or its lease expires (visibility seconds, default 30). An "
        "expired or nacked message is delivered again with delivery_count one higher; one delivered "
        "max_deliveries times (MONTY_MAX_DELIVERIES, default 5) goes to the queue's dead-letter queue. "
        "With wait=N (up to 20 s) an empty queue is watched for N seconds. Messages as in "
        "GET /Consume/batch, plus receipt, delivery_count and lease_expires_at."
    ),
    responses={
        200: ReceivedMessages,
        400: INVALID,
        401: UNAUTHORIZED,
        403: FORBIDDEN,
        404: UNKNOWN_QUEUE,
        429: problem(
            "With wait, the queue is empty and half the server's threads already wait; or this server "
            "process holds as many leased bytes as it may (MONTY_MAX_LEASED_BYTES). Retry after Retry-After.",
            True,
        ),
        503: UNAVAILABLE,
    },
    security=[{"bearer": []}],
)
@guard("consumer")
def receive(path: QueuePath, query: ReceiveQuery) -> Response:
    """Lease up to max messages to the caller."""
    settings = current_settings(ExchangeSettings)
    queue = known_queue(settings, path.queue)
    visibility = query.visibility
    if visibility > settings.max_visibility:
        raise _too_long("visibility", visibility, settings.max_visibility)
    holder = broker.get().leases
    owner = current_principal().subject
    still_wanted = client_still_there(request.environ) if query.wait > 0 else None
    try:
        leased = take_waiting(
            lambda seconds: holder.receive(
                query.max,
                seconds,
                visibility,
                owner,
                max_bytes=settings.max_consume_batch_bytes,
                still_wanted=still_wanted,
            ),
            query.wait,
        )
    except BrokerUnavailable as error:
        raise broker_problem(error, settings.retry_after) from error
    except LeaseCapacityExceeded:
        raise ProblemError(
            429,
            "too-many-leased",
            "Too Many Leased Bytes",
            "This server process holds as many leased bytes as it may; ack or nack some, or retry later.",
            {"Retry-After": str(settings.retry_after)},
        ) from None
    except Abandoned:
        raise ProblemError(
            499,
            "client-closed-request",
            "Client Closed Request",
            "The client went away; nothing was received.",
        ) from None
    if leased:
        add(instruments().consumed, "lease", amount=len(leased))
    body = leased_json(
        leased, queue, owner, receipt_signer.get(), producer_stamp.get(), settings.json_max_depth
    )
    return Response(body, 200, mimetype="application/json")


def _settle(queue_name: str, receipts: list[str], settle: Settle, outcome: str) -> Response:
    """Settle the receipts on `queue_name` and answer each one's result (200, or 207 if any failed);
    count the settled ones as `outcome`."""
    settings = current_settings(ExchangeSettings)
    queue = known_queue(settings, queue_name)
    try:
        results = settle_receipts(receipts, queue, current_principal().subject, receipt_signer.get(), settle)
    except BrokerUnavailable as error:
        raise broker_problem(error, settings.retry_after) from error
    settled = sum(1 for result in results if result["status"] == 200)
    if settled:
        add(instruments().leases, outcome, amount=settled)
    failed = settled != len(results)
    return Response(results_json(results), 207 if failed else 200, mimetype="application/json")


@leases_api.post(
    "/Queues/<queue>/ack",
    summary="Acknowledge processed messages",
    description="Removes the messages the receipts name from the queue for good." + SETTLE_NOTE,
    responses=SETTLED,
    security=[{"bearer": []}],
)
@guard("consumer")
def ack(path: QueuePath, body: AckBody) -> Response:
    """Acknowledge messages by receipt."""
    owner = current_principal().subject
    return _settle(path.queue, body.receipts, lambda refs: broker.get().leases.ack(refs, owner), "acked")


@leases_api.post(
    "/Queues/<queue>/nack",
    summary="Give messages back for redelivery",
    description=(
        "Releases the messages: each is delivered again after delay seconds (0: at once) with "
        "delivery_count one higher and your error kept with it; after max_deliveries it goes to the "
        "dead-letter queue instead." + SETTLE_NOTE
    ),
    responses={**SETTLED, 422: problem("delay is past MONTY_MAX_DELAY; nothing was released.")},
    security=[{"bearer": []}],
)
@guard("consumer")
def nack(path: QueuePath, body: NackBody) -> Response:
    """Release messages by receipt."""
    settings = current_settings(ExchangeSettings)
    check_delay(body.delay, settings.max_delay)
    owner = current_principal().subject
    return _settle(
        path.queue,
        body.receipts,
        lambda refs: broker.get().leases.release(refs, owner, body.delay, body.error),
        "nacked",
    )


@leases_api.post(
    "/Queues/<queue>/extend",
    summary="Extend leases",
    description=(
        "Sets each lease to expire visibility seconds from now (at most MONTY_MAX_VISIBILITY); a lease "
        "lasts at most MONTY_MAX_LEASE_SECONDS in all (422 lease-too-long past it)." + SETTLE_NOTE
    ),
    responses=SETTLED,
    security=[{"bearer": []}],
)
@guard("consumer")
def extend(path: QueuePath, body: ExtendBody) -> Response:
    """Extend leases by receipt."""
    settings = current_settings(ExchangeSettings)
    if body.visibility > settings.max_visibility:
        raise _too_long("visibility", body.visibility, settings.max_visibility)
    owner = current_principal().subject
    return _settle(
        path.queue,
        body.receipts,
        lambda refs: broker.get().leases.extend(refs, owner, body.visibility),
        "extended",
    )
