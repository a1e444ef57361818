"""Admin routes over the dead letters of the gateway's queues: list, inspect, redrive."""

from typing import Any

from flask import Response, abort, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import ValidationError
from werkzeug.routing import BaseConverter

from exchange_service.dead_letter_models import (
    GET_DEAD_LETTER,
    DeadLetterList,
    DeadLetterMessage,
    DeadLetterPath,
    DeadLetterQuery,
    QueuePath,
    RedriveAll,
    RedriveByIds,
    Redriven,
)
from exchange_service.dead_letter_rendering import dead_letter_json, dead_letter_page_json
from exchange_service.dead_letters import Redrive, RedriveFailed
from exchange_service.extensions import dead_letters, producer_stamp
from exchange_service.json_body import read_declared_json
from exchange_service.queues import known_queue
from exchange_service.redrive_audit import record_redrive
from exchange_service.settings import ExchangeSettings
from monty_common import strict_json
from monty_common.auth import guard
from monty_common.broker import BrokerUnavailable
from monty_common.broker.problems import broker_problem
from monty_common.openapi_app import problem_doc as problem
from monty_common.openapi_app import validation_problem
from monty_common.problems import ProblemError
from monty_common.service_app import current_settings

# The two bodies a redrive takes.
REDRIVE_SCHEMAS = [RedriveByIds.model_json_schema(), RedriveAll.model_json_schema()]
# 1000 ids of 255 characters, each written as \uXXXX escapes at worst, fit with room to spare.
REDRIVE_BODY_BYTES = 2 * 1024 * 1024


class DeadLetterIdConverter(BaseConverter):
    """A dead letter's message_id in a path: any segment but "redrive", the redrive route's own, so
    each path has one set of methods (a dead letter with that id is seen in the list)."""

    regex = "(?!redrive$)[^/]+"


# The name the app's URL map knows DeadLetterIdConverter by (registered before the routes).
DEAD_LETTER_ID = "dead_letter_id"

dead_letter_api = APIBlueprint(
    "dead_letters",
    __name__,
    abp_tags=[
        Tag(
            name="dead letters",
            description="Messages consumers kept failing on, kept in each queue's dead-letter queue "
            "(<queue>.dead-letter): list and inspect them, and redrive them to their queue (admin).",
        )
    ],
    abp_security=[{"bearer": []}],
)

BROWSING = (
    " AMQP has no peek: the gateway takes the dead letters it reads unacknowledged and gives them all "
    "back at once, in place. Meanwhile they are invisible to other browsers (and a redrive), and "
    "browsing marks them redelivered (redelivered: true from then on)."
)
UNKNOWN_QUEUE = problem("The gateway serves no queue of that name (unknown-queue).")
UNAVAILABLE = problem(
    "The broker is unreachable or failed meanwhile; nothing was removed and retrying is safe.", True
)


def _unavailable(error: BrokerUnavailable) -> ProblemError:
    """503 for a broker fault while browsing."""
    return broker_problem(error, current_settings(ExchangeSettings).retry_after)


@dead_letter_api.get(
    "/Queues/<queue>/dead-letters",
    summary="List dead letters",
    operation_id="list_dead_letters",
    description=(
        "The queue's oldest dead letters, up to max (1 to 100), left in the dead-letter queue. Each is "
        "shown as GET /Consume/batch shows a message, with a dead_letter object: why it was given up, "
        "the last error a release carried, how many deliveries it had, when, and from which queue "
        "(null where a message another AMQP client put there does not say). total counts the "
        "messages in the dead-letter queue; a list also ends once its bodies pass "
        "MONTY_MAX_CONSUME_BATCH_BYTES (byte_limited)." + BROWSING
    ),
    responses={200: DeadLetterList, 404: UNKNOWN_QUEUE, 503: UNAVAILABLE},
)
@guard("admin")
def list_dead_letters(path: QueuePath, query: DeadLetterQuery) -> Response:
    """The oldest dead letters of the queue, left in place."""
    settings = current_settings(ExchangeSettings)
    queue = known_queue(settings, path.queue)
    try:
        page = dead_letters.get().peek(queue, query.max, settings.max_consume_batch_bytes)
    except BrokerUnavailable as error:
        raise _unavailable(error) from error
    return Response(
        dead_letter_page_json(page, producer_stamp.get(), settings.json_max_depth),
        200,
        mimetype="application/json",
    )


@dead_letter_api.get(
    f"/Queues/<queue>/dead-letters/<{DEAD_LETTER_ID}:message_id>",
    summary="Inspect a dead letter",
    operation_id=GET_DEAD_LETTER,
    description=(
        "The oldest dead letter with this message_id, left in the dead-letter queue, shown as in the "
        "list. The gateway looks through the first MONTY_DEAD_LETTER_SCAN dead letters (10000 by "
        "default). A message_id of 'redrive' names the redrive route: such a dead letter is seen in the "
        "list." + BROWSING
    ),
    responses={
        200: DeadLetterMessage,
        404: problem("Unknown queue (unknown-queue), or no such dead letter (dead-letter-not-found)."),
        503: UNAVAILABLE,
    },
)
@guard("admin")
def get_dead_letter(path: DeadLetterPath) -> Response:
    """One dead letter, by its message_id."""
    settings = current_settings(ExchangeSettings)
    queue = known_queue(settings, path.queue)
    try:
        letter = dead_letters.get().find(queue, path.message_id)
    except BrokerUnavailable as error:
        raise _unavailable(error) from error
    if letter is None:
        raise ProblemError(
            404,
            "dead-letter-not-found",
            "Dead Letter Not Found",
            f"No dead letter of {queue!r} among the first {settings.dead_letter_scan} has that message_id.",
        )
    return Response(
        dead_letter_json(letter, producer_stamp.get(), settings.json_max_depth),
        200,
        mimetype="application/json",
    )


@dead_letter_api.post(
    "/Queues/<queue>/dead-letters/redrive",
    summary="Redrive dead letters",
    operation_id="redrive_dead_letters",
    description=(
        'Puts dead letters back in their queue: {"message_ids": [...]} (1 to 1000; the oldest dead '
        'letter with each id) or {"all": true}. Each goes back as it was published (same body, '
        "message_id and producer, its delivery count afresh: the dead-letter headers are taken off), "
        "at the queue's tail, and leaves the dead-letter queue only once the broker has confirmed its "
        "copy. One call looks through at most MONTY_DEAD_LETTER_SCAN dead letters (10000 by "
        "default): ids not among them are not_found; with all, call again while dead letters remain. "
        "If the broker fails midway the answer is a 503 (504 if a copy's outcome is unknown) problem "
        "whose redriven and message_ids say what was put back before; every other dead letter is "
        "still in the dead-letter queue and retrying is safe (at worst a message comes twice). Every "
        "redrive, failed ones too, is recorded in the user service's audit log (dead_letters_redriven) "
        "before it is answered; if the user service cannot record it, the answer is the same and the "
        "exchange logs the event instead." + BROWSING
    ),
    responses={
        200: Redriven,
        404: UNKNOWN_QUEUE,
        503: problem(
            "Nothing more was put back: the broker is unreachable, failed, or refused a copy. redriven "
            "and message_ids name what was put back before; the rest stays. Retrying is safe.",
            True,
        ),
        504: problem(
            "The broker did not confirm a copy in time: that dead letter stays, and its copy may or may "
            "not be queued. redriven and message_ids name what was put back before.",
            True,
        ),
    },
    openapi_extensions={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": REDRIVE_SCHEMAS}}},
        },
    },
)
@guard("admin")
def redrive_dead_letters(path: QueuePath) -> dict[str, Any]:
    """Put the chosen dead letters back in their queue."""
    settings = current_settings(ExchangeSettings)
    message_ids = _read_redrive(settings)
    queue = known_queue(settings, path.queue)
    requested = None if message_ids is None else len(message_ids)
    try:
        done = dead_letters.get().redrive(queue, message_ids)
    except BrokerUnavailable as error:
        problem = _unavailable(error)
        record_redrive(queue, requested, 0, problem.status)
        raise problem from error
    except RedriveFailed as failed:
        problem = broker_problem(failed.error, settings.retry_after)
        problem.extensions.update(_redriven(failed.done))
        record_redrive(queue, requested, len(failed.done.redriven), problem.status)
        raise problem from failed
    record_redrive(queue, requested, len(done.redriven), 200)
    return _redriven(done)


def _read_redrive(settings: ExchangeSettings) -> list[str] | None:
    """The ids a redrive names, or None for all; 400 for a body that is not one of the two forms."""
    raw = read_declared_json(request, REDRIVE_BODY_BYTES)
    value = strict_json.loads(raw, settings.json_max_depth)
    form: type[RedriveAll | RedriveByIds] = (
        RedriveAll if isinstance(value, dict) and "all" in value else RedriveByIds
    )
    try:
        chosen = form.model_validate(value)
    except ValidationError as error:
        abort(validation_problem(error))
    return chosen.message_ids if isinstance(chosen, RedriveByIds) else None


def _redriven(done: Redrive) -> dict[str, Any]:
    """What a redrive put back, as answered."""
    answer = Redriven(redriven=len(done.redriven), message_ids=done.redriven, not_found=done.not_found)
    return answer.model_dump()
