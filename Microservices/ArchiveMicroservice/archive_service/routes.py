"""HTTP routes of the archive: GET /Messages and GET /Messages/<message_id>."""

from typing import Any

from flask import Response
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from flask_openapi3.types import ResponseDict

from archive_service import queries
from archive_service.api_models import MessageOut, MessagePageOut, MessagePath, MessagesQuery
from archive_service.cursors import decode_cursor
from archive_service.rendering import message_response, page_response
from archive_service.settings import ArchiveSettings
from monty_common.auth import guard
from monty_common.openapi_app import problem_doc as problem
from monty_common.service_app import current_settings

api = APIBlueprint(
    "archive",
    __name__,
    abp_tags=[Tag(name="archive", description="Every message published, kept for later")],
    abp_security=[{"bearer": []}],
)

GUARDED: ResponseDict = {
    400: problem("A parameter is invalid (see invalid_params)."),
    401: problem("No valid bearer token (missing, malformed, expired or forged)."),
    403: problem("The token lacks the role consumer (or admin)."),
}


@api.get(
    "/Messages",
    summary="List archived messages",
    operation_id="listArchivedMessages",
    description=(
        "Archived messages by published_at, newest or oldest first, a page at a time. "
        "Pass next_cursor as cursor (with the same order and filters) for the next page. A page also "
        "stops once its messages pass MONTY_MAX_PAGE_BYTES (4 MiB by default; a single larger message "
        "comes alone): byte_limited is then true, count says how many it holds, and next_cursor goes on."
    ),
    responses={**GUARDED, 200: MessagePageOut},
)
@guard("consumer")
def list_messages(query: MessagesQuery) -> Response:
    """One page of archived messages."""
    cursor = decode_cursor(query.cursor) if query.cursor else None
    selection = queries.ListFilter(query.order, query.since, query.until, query.producer)
    budget = current_settings(ArchiveSettings).max_page_bytes
    return page_response(queries.list_messages(selection, query.limit, cursor, budget))


@api.get(
    "/Messages/<message_id>",
    summary="Get an archived message",
    operation_id="getArchivedMessage",
    responses={**GUARDED, 200: MessageOut, 404: problem("No archived message has this id.")},
)
@guard("consumer")
def get_message(path: MessagePath) -> Response:
    """The archived message."""
    return message_response(queries.get_message(path.message_id))


def link_listing_to_messages(spec: dict[str, Any]) -> None:
    """Tell clients (and fuzzers) that a listed message_id opens GET /Messages/{message_id}."""
    listed = spec["paths"]["/Messages"]["get"]["responses"]["200"]
    listed["links"] = {
        "FirstListedMessage": {
            "operationId": "getArchivedMessage",
            "parameters": {"message_id": "$response.body#/items/0/message_id"},
            "description": "The first message of the page.",
        }
    }
