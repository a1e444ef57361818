"""The framework's ceiling: a Flask app whose one route does nothing but answer."""

from flask import Flask

from monty_common.openapi_app import DEFAULT_MAX_BODY_BYTES
from monty_common.settings import ServiceSettings


def create_noop_app(_settings: ServiceSettings) -> Flask:
    """A Flask app with `POST /noop` answering 200 `{}` without reading the body."""
    app = Flask(__name__)
    # The gateway's body limit: the server reads bodies up to it ahead, and keeps the connection.
    app.config["MAX_CONTENT_LENGTH"] = DEFAULT_MAX_BODY_BYTES

    @app.post("/noop")
    def noop() -> tuple[dict[str, str], int]:
        """Answer at once."""
        return {}, 200

    return app
