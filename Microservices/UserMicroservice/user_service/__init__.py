"""The user service: the system of record for users, their passwords and roles."""

from pathlib import Path

from flask_openapi3.openapi import OpenAPI

from monty_common.auth import TokenVerifier
from monty_common.database import upgrade_schema
from monty_common.health import health_blueprint
from monty_common.logging_setup import configure_logging
from monty_common.openapi_app import new_openapi_app
from monty_common.startup_lock import startup_lock
from user_service import admin_routes, internal_routes, self_routes
from user_service.bootstrap import ensure_admin
from user_service.extensions import bearer, database, service_secret
from user_service.readiness import database_readiness
from user_service.route_docs import SECURITY_SCHEMES
from user_service.settings import UserSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: UserSettings | None = None) -> OpenAPI:
    """Build the user app from `settings` (read from the environment when not given)."""
    settings = settings or UserSettings()
    configure_logging(settings.log_level)
    app = new_openapi_app(__name__, "MontyExchange user service", "1.0.0")
    app.security_schemes = {**(app.security_schemes or {}), **SECURITY_SCHEMES}
    app.extensions["monty.settings"] = settings
    # Users and passwords are small; nothing larger is read or parsed.
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024
    prepare_database(app, settings)
    register_extensions(app, settings)
    register_blueprints(app, settings)
    return app


def prepare_database(app: OpenAPI, settings: UserSettings) -> None:
    """Migrate and bind the database, then make sure it holds an admin; processes take turns."""
    url = settings.resolved_database_url()
    with startup_lock(settings.data_dir, "users-startup"):
        upgrade_schema(url, MIGRATIONS)
        database.init_app(app, url)
        with app.app_context():
            ensure_admin(settings)


def register_extensions(app: OpenAPI, settings: UserSettings) -> None:
    """Bind the token verifier and the service secret."""
    bearer.init_app(app, TokenVerifier(settings.jwks_url, settings.jwt_issuer, settings.jwt_audience))
    service_secret.init_app(app, settings.resolved_service_secret())


def register_blueprints(app: OpenAPI, settings: UserSettings) -> None:
    """Mount the API and the health endpoints."""
    # /users/me is a static path, which Werkzeug matches before /users/<uuid:user_id> in any order.
    app.register_api(self_routes.api)
    app.register_api(admin_routes.api)
    app.register_api(internal_routes.api)
    app.register_api(health_blueprint(database_readiness, settings.retry_after))
