"""The archive service: a copy of every published message, kept in a database and served over HTTP.

Two processes: the worker (worker.py) consumes the archive queue and stores messages; the API
(app.py) lists and shows them. The worker migrates the database when it starts; the API's
`init-db` command does it before the API's workers start (app.py runs it).
"""

from archive_service import routes
from archive_service.archive_metrics import ArchiveCollector
from archive_service.extensions import database, token_revocation, token_verifier
from archive_service.readiness import readiness
from archive_service.schema import init_db_command
from archive_service.settings import ArchiveSettings
from monty_common.auth import new_revocation_check, new_token_verifier
from monty_common.health import health_blueprint
from monty_common.metrics import add_collector
from monty_common.openapi_app import MontyOpenAPI
from monty_common.service_app import new_service_app


def create_app(settings: ArchiveSettings | None = None) -> MontyOpenAPI:
    """Build the archive API from `settings` (read from the environment when not given)."""
    settings = settings or ArchiveSettings()
    # The API takes no bodies.
    app = new_service_app(__name__, "MontyExchange archive service", settings, max_body_bytes=1024)
    register_extensions(app, settings)
    register_blueprints(app, settings)
    register_commands(app)
    return app


def register_extensions(app: MontyOpenAPI, settings: ArchiveSettings) -> None:
    """Bind the database (it opens connections on first use) and the token checks."""
    database.init_app(app, settings.resolved_database_url())
    token_verifier.init_app(app, new_token_verifier(settings))
    token_revocation.init_app(app, new_revocation_check(settings, settings.data_dir))


def register_blueprints(app: MontyOpenAPI, settings: ArchiveSettings) -> None:
    """Mount the API and the health endpoints (/readyz also shows the archive lag)."""
    app.register_api(routes.api)
    app.add_doc_hook(routes.link_listing_to_messages)
    app.register_api(health_blueprint(lambda: readiness(settings)))
    add_collector(app, ArchiveCollector(settings))


def register_commands(app: MontyOpenAPI) -> None:
    """Add `flask init-db`, which migrates the database."""
    app.cli.add_command(init_db_command)
