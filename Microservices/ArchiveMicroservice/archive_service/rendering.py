"""Answering archived messages as JSON with each body embedded verbatim, byte for byte as published."""

import json
from collections.abc import Iterator
from typing import Any

from flask import Response

from archive_service.models import ArchivedMessage
from archive_service.queries import MessagePage


def _metadata(message: ArchivedMessage) -> dict[str, Any]:
    """Everything the API shows of a message except its body."""
    return {
        "message_id": message.message_id,
        "producer": message.producer,
        "producer_verified": message.producer_verified,
        "routing_key": message.routing_key,
        "published_at": message.published_at.isoformat(timespec="milliseconds"),
        "archived_at": message.archived_at.isoformat(timespec="milliseconds"),
        "size_bytes": message.size_bytes,
        "headers": message.headers,
        "request_id": message.request_id,
        "traceparent": message.traceparent,
    }


def message_json(message: ArchivedMessage) -> str:
    """The message as a JSON object.

    The body is spliced in as stored rather than parsed and dumped again, so numbers and spacing
    stay exactly as published; the worker stored only bodies that are valid JSON.
    """
    head = json.dumps(_metadata(message))
    return f'{head[:-1]}, "body": {message.body}}}'


def message_response(message: ArchivedMessage) -> Response:
    """One message."""
    return Response(message_json(message), 200, mimetype="application/json")


def page_response(page: MessagePage) -> Response:
    """A page of messages with its count and next cursor, written out one message at a time."""

    def pieces() -> Iterator[bytes]:
        yield b'{"items": ['
        for number, message in enumerate(page.items):
            yield (", " if number else "").encode() + message_json(message).encode()
        tail = {"count": len(page.items), "next_cursor": page.next_cursor, "byte_limited": page.byte_limited}
        yield b"], " + json.dumps(tail)[1:].encode()

    return Response(pieces(), 200, mimetype="application/json")
