"""The auth service: logs users in through the user service and issues signed access tokens."""

from auth_service import signing_key
from auth_service.extensions import issuer, key_set, login_throttle, throttled_logins, users
from auth_service.routes import auth_blueprint
from auth_service.settings import AuthSettings
from auth_service.throttled_logins import RECORD_LIMIT, ThrottledLogins
from auth_service.throttling import LoginThrottle
from auth_service.tokens import TokenIssuer
from auth_service.users_client import UsersClient
from monty_common.attempts import parse_limit
from monty_common.audit_events import AuditClient
from monty_common.health import health_blueprint
from monty_common.openapi_app import MontyOpenAPI
from monty_common.service_app import new_service_app
from monty_common.service_secret import resolve_secret


def create_app(settings: AuthSettings | None = None) -> MontyOpenAPI:
    """Build the auth app from `settings` (read from the environment when not given)."""
    settings = settings or AuthSettings()
    # A login is a few hundred bytes; nothing larger is read or parsed.
    app = new_service_app(__name__, "MontyExchange auth service", settings, max_body_bytes=8 * 1024)
    register_extensions(app, settings)
    register_blueprints(app)
    return app


def register_extensions(app: MontyOpenAPI, settings: AuthSettings) -> None:
    """Load the signing keys, bind the issuer, the key set, the user-service client, the throttle and
    the recorder of throttled logins.

    Each app has a throttle of its own: apps share counts only through their storage (Redis), as
    processes do.
    """
    if settings.signing_key_file is None:
        current = signing_key.load_or_create(settings.data_dir / "jwt-signing-key.pem")
    else:
        current = signing_key.load(settings.signing_key_file)
    previous = [signing_key.load(path) for path in settings.previous_signing_key_files]
    issuer.init_app(app, TokenIssuer(current, settings.jwt_issuer, settings.jwt_audience, settings.token_ttl))
    key_set.init_app(app, signing_key.jwks(current, previous))
    secret = resolve_secret(settings.service_secret, settings.data_dir)
    users.init_app(app, UsersClient(settings.users_url, secret, settings.users_timeout))
    throttle = login_throttle.init_app(app, LoginThrottle.from_settings(settings))
    audit = AuditClient(settings.users_url, secret, settings.users_timeout)
    throttled_logins.init_app(app, ThrottledLogins(audit, throttle.counter, parse_limit(RECORD_LIMIT)))


def register_blueprints(app: MontyOpenAPI) -> None:
    """Mount the API and the health endpoints."""
    app.register_api(auth_blueprint)
    app.register_api(health_blueprint(lambda: {"signing_key": "ok"}))
