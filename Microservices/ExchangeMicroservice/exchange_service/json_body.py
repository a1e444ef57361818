"""Reading a request body that must be one JSON document, keeping its exact bytes."""

from typing import Any

from flask import Request
from gunicorn.http.errors import ChunkMissingTerminator, NoMoreData
from werkzeug.exceptions import RequestEntityTooLarge

from monty_common import strict_json
from monty_common.problems import ProblemError
from monty_common.strict_json import skip_number

JSON_MEDIA_TYPE = "application/json"


def bad_body(slug: str, title: str, detail: str) -> ProblemError:
    """A 400 problem about the body."""
    return ProblemError(400, slug, title, detail)


def read_limited_body(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it proves longer than `limit` bytes; a large body is never buffered.

    A declared Content-Length over the limit is refused before anything is read. A chunked body
    is read from the server's stream up to one byte past the limit (Werkzeug's own limit would
    cut such a body at the limit without noticing that more follows).
    """
    if request.content_length is not None:
        if request.content_length > limit:
            raise RequestEntityTooLarge()
        return request.get_data(cache=False)
    if not request.environ.get("wsgi.input_terminated"):
        return b""  # no length and no server-terminated stream: nothing can be read safely
    stream = request.environ["wsgi.input"]
    body = bytearray()
    while len(body) <= limit:
        try:
            chunk = stream.read(min(64 * 1024, limit + 1 - len(body)))
        except (NoMoreData, ChunkMissingTerminator) as error:
            # The server reads a chunked body ahead only to the first byte past the limit; the
            # parser may then look for that chunk's end, which was not read: the body is too large.
            if len(body) >= limit and not getattr(error, "term", b""):
                raise RequestEntityTooLarge() from None
            raise  # a body cut short or broken: 400 (problems.py)
        if not chunk:
            break
        body += chunk
    if len(body) > limit:
        raise RequestEntityTooLarge()
    return bytes(body)


def read_json_body(request: Request, limit: int, max_depth: int) -> bytes:
    """Return the body's bytes (at most `limit`) after checking they are one strict UTF-8 JSON value."""
    raw = read_declared_json(request, limit)
    strict_json.loads(raw, max_depth, skip_number, skip_number, keep=False)
    return raw


def read_json_value(request: Request, limit: int, max_depth: int) -> tuple[bytes, Any]:
    """Like read_json_body, and the value too, with exact numbers (int, Decimal) for a schema to check."""
    raw = read_declared_json(request, limit)
    return raw, strict_json.exact_loads(raw, max_depth)


def read_declared_json(request: Request, limit: int) -> bytes:
    """The body's bytes (at most `limit`), declared as UTF-8 JSON and not blank."""
    if request.mimetype != JSON_MEDIA_TYPE:
        got = request.content_type or "none"
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Unsupported Media Type",
            f"The body must be sent as Content-Type: {JSON_MEDIA_TYPE} (got {got}).",
        )
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ProblemError(
            415, "unsupported-charset", "Unsupported Charset", f"JSON must be UTF-8 (got {charset})."
        )
    raw = read_limited_body(request, limit)
    if not raw.strip():
        raise bad_body("empty-body", "Empty Body", "The body is empty; send one JSON value.")
    return raw
