"""The archive service: a copy of every published message, kept in a database and served over HTTP.

Two processes: the worker (worker.py) consumes the archive queue and stores messages; the API
(app.py) lists and shows them. Both migrate the database at start, taking turns.
"""

from flask_openapi3.openapi import OpenAPI

from archive_service import routes
from archive_service.extensions import bearer, database
from archive_service.readiness import readiness
from archive_service.schema import migrate
from archive_service.settings import ArchiveSettings
from monty_common.auth import TokenVerifier
from monty_common.health import Readiness, health_blueprint
from monty_common.logging_setup import configure_logging
from monty_common.openapi_app import MontyOpenAPI, new_openapi_app


def create_app(settings: ArchiveSettings | None = None) -> OpenAPI:
    """Build the archive API from `settings` (read from the environment when not given)."""
    settings = settings or ArchiveSettings()
    configure_logging(settings.log_level)
    app = new_openapi_app(__name__, "MontyExchange archive service", "1.0.0")
    app.extensions["monty.settings"] = settings
    # The API takes no bodies.
    app.config["MAX_CONTENT_LENGTH"] = 1024
    prepare_database(app, settings)
    register_extensions(app, settings)
    register_blueprints(app)
    return app


def prepare_database(app: OpenAPI, settings: ArchiveSettings) -> None:
    """Migrate the database (processes take turns), then bind it."""
    database.init_app(app, migrate(settings))


def register_extensions(app: OpenAPI, settings: ArchiveSettings) -> None:
    """Bind the token verifier."""
    bearer.init_app(app, TokenVerifier(settings.jwks_url, settings.jwt_issuer, settings.jwt_audience))


def register_blueprints(app: MontyOpenAPI) -> None:
    """Mount the API and the health endpoints (/readyz also shows the archive lag)."""
    settings: ArchiveSettings = app.extensions["monty.settings"]

    def report() -> Readiness:
        state = readiness(settings)
        return Readiness(state.checks, {"archive_lag": state.archive_lag})

    app.register_api(routes.api)
    app.add_doc_hook(routes.link_listing_to_messages)
    app.register_api(health_blueprint(report, settings.retry_after))
