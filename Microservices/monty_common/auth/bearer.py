"""Bearer tokens on requests: 401 without a valid one, 503 when the keys cannot be fetched."""

from flask import g, request

from monty_common.auth.key_set import KeySetTimes
from monty_common.auth.verifier import InvalidToken, KeysUnavailable, Principal, TokenVerifier
from monty_common.extension import Extension
from monty_common.problems import ProblemError
from monty_common.service_app import current_settings
from monty_common.settings import ServiceSettings, TokenSettings

REALM = "montyexchange"

token_verifier = Extension[TokenVerifier]("monty.bearer")


def new_token_verifier(settings: TokenSettings) -> TokenVerifier:
    """A verifier of the tokens the configured auth service signs for us."""
    times = KeySetTimes(settings.jwks_lifespan, settings.jwks_min_interval, settings.jwks_outage_grace)
    return TokenVerifier(settings.jwks_url, settings.jwt_issuer, settings.jwt_audience, key_times=times)


def _unauthorized(detail: str, error: str | None = None) -> ProblemError:
    """401 with the WWW-Authenticate challenge of RFC 6750."""
    challenge = f'Bearer realm="{REALM}"'
    if error:
        challenge += f', error="{error}"'
    return ProblemError(401, "unauthorized", "Unauthorized", detail, {"WWW-Authenticate": challenge})


def authenticate() -> Principal:
    """The principal of the request's bearer token, or a 401 problem."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthorized("This route needs an Authorization: Bearer <token> header.")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("The Authorization header must be 'Bearer <token>'.", "invalid_request")
    try:
        principal = token_verifier.get().verify(token.strip())
    except InvalidToken as error:
        raise _unauthorized(f"The token was refused: {error}.", "invalid_token") from None
    except KeysUnavailable as error:
        retry_after = current_settings(ServiceSettings).retry_after
        raise ProblemError(
            503,
            "keys-unavailable",
            "Service Unavailable",
            f"Tokens cannot be checked now: {error}.",
            {"Retry-After": str(retry_after)},
        ) from None
    g.monty_principal = principal
    return principal


def current_principal() -> Principal:
    """The principal authenticated for this request."""
    principal: Principal = g.monty_principal
    return principal
