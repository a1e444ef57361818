"""What the server may say of a request its HTTP parser refused: the error's kind, never the request's
bytes.

gunicorn's parse errors quote what they could not parse (a header line with its bearer token, a
chunk-size line that is really a login body with its password, a message body), so neither a log line
nor an answer uses their text.
"""

from gunicorn.http.errors import LimitRequestLine


def describe(error: BaseException) -> str:
    """The error's class name; for a request line over the limit, its length and the limit too."""
    kind = type(error).__name__
    if isinstance(error, LimitRequestLine):
        size, limit = error.size, error.max_size
        if isinstance(size, int) and isinstance(limit, int):
            return f"{kind} ({size} > {limit} bytes)"
    return kind
