"""The auth service: logs users in through the user service and issues signed access tokens."""

from flask_openapi3.openapi import OpenAPI

from auth_service import signing_key
from auth_service.routes import api
from auth_service.settings import AuthSettings
from auth_service.throttling import init_throttling
from auth_service.tokens import TokenIssuer
from auth_service.users_client import UsersClient
from monty_common.health import health_blueprint
from monty_common.logging_setup import configure_logging
from monty_common.openapi_app import new_openapi_app
from monty_common.service_secret import read_or_create_secret


def create_app(settings: AuthSettings | None = None) -> OpenAPI:
    """Build the auth app from `settings` (read from the environment when not given)."""
    settings = settings or AuthSettings()
    configure_logging(settings.log_level)
    app = new_openapi_app(__name__, "MontyExchange auth service", "1.0.0")
    app.extensions["monty.settings"] = settings
    # A login is a few hundred bytes; nothing larger is read or parsed.
    app.config["MAX_CONTENT_LENGTH"] = 8 * 1024
    register_extensions(app, settings)
    register_blueprints(app, settings)
    return app


def register_extensions(app: OpenAPI, settings: AuthSettings) -> None:
    """Load the signing keys, the user-service client and the throttle."""
    if settings.signing_key_file is None:
        current = signing_key.load_or_create(settings.data_dir / "jwt-signing-key.pem")
    else:
        current = signing_key.load(settings.signing_key_file)
    previous = [signing_key.load(path) for path in settings.previous_signing_key_files]
    app.extensions["monty.issuer"] = TokenIssuer(
        current, settings.jwt_issuer, settings.jwt_audience, settings.token_ttl
    )
    app.extensions["monty.jwks"] = signing_key.jwks(current, previous)
    secret = settings.service_secret or read_or_create_secret(settings.data_dir / "service-secret")
    app.extensions["monty.users"] = UsersClient(settings.users_url, secret, settings.users_timeout)
    init_throttling(app, settings)


def register_blueprints(app: OpenAPI, settings: AuthSettings) -> None:
    """Mount the API and the health endpoints."""
    app.register_api(api)
    app.register_api(health_blueprint(lambda: {"signing_key": "ok"}, 2))
