"""The user service: the system of record for users, their passwords and roles."""

from monty_common.auth import new_token_verifier
from monty_common.health import health_blueprint
from monty_common.openapi_app import MontyOpenAPI
from monty_common.service_app import new_service_app
from user_service import admin_routes, internal_routes, self_routes
from user_service.admin_recovery import promote_admin_command
from user_service.extensions import (
    database,
    password_throttle,
    service_secret,
    token_revocation,
    token_verifier,
)
from user_service.password_throttle import PasswordChangeThrottle
from user_service.route_docs import SECURITY_SCHEMES, document_detail_names
from user_service.schema import init_db_command
from user_service.settings import UserSettings


def create_app(settings: UserSettings | None = None) -> MontyOpenAPI:
    """Build the user app from `settings` (read from the environment when not given)."""
    settings = settings or UserSettings()
    # Users and passwords are small; nothing larger is read or parsed.
    app = new_service_app(__name__, "MontyExchange user service", settings, max_body_bytes=16 * 1024)
    app.security_schemes = {**(app.security_schemes or {}), **SECURITY_SCHEMES}
    register_extensions(app, settings)
    register_blueprints(app)
    register_commands(app)
    return app


def register_extensions(app: MontyOpenAPI, settings: UserSettings) -> None:
    """Bind the database (it opens connections on first use), the token verifier, the service secret
    and the password-change throttle."""
    database.init_app(app, settings.resolved_database_url())
    token_verifier.init_app(app, new_token_verifier(settings))
    # Revocation is checked against the users table itself, by the guards (token_version).
    token_revocation.init_app(app, None)
    service_secret.init_app(app, settings.resolved_service_secret())
    password_throttle.init_app(app, PasswordChangeThrottle.from_settings(settings))


def register_blueprints(app: MontyOpenAPI) -> None:
    """Mount the API (completing its document) and the health endpoints."""
    # /users/me is a static path, which Werkzeug matches before /users/<uuid:user_id> in any order.
    app.register_api(self_routes.api)
    app.register_api(admin_routes.api)
    app.register_api(internal_routes.api)
    app.add_doc_hook(document_detail_names)
    app.register_api(health_blueprint(database.readiness))


def register_commands(app: MontyOpenAPI) -> None:
    """Add `flask init-db` (migrate, make the first admin) and `flask promote-admin <username>`."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(promote_admin_command)
