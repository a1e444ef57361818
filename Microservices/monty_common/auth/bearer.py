"""Bearer tokens on requests: 401 without a valid one, 503 when the keys cannot be fetched."""

from pathlib import Path

from flask import g, request

from monty_common.auth.key_set import KeySetTimes
from monty_common.auth.revocation import RevocationCheck, TokenRevoked, UserDirectory, UserStatusUnavailable
from monty_common.auth.verifier import InvalidToken, KeysUnavailable, Principal, TokenVerifier
from monty_common.extension import Extension
from monty_common.problems import ProblemError
from monty_common.service_app import current_settings
from monty_common.service_secret import read_or_create_secret
from monty_common.settings import RevocationSettings, ServiceSettings, TokenSettings

REALM = "montyexchange"

token_verifier = Extension[TokenVerifier]("monty.bearer")
# Refuses revoked tokens; None where tokens are not checked for revocation (or, in the user
# service, checked against its own table by its guards).
token_revocation = Extension[RevocationCheck | None]("monty.revocation")


def new_token_verifier(settings: TokenSettings) -> TokenVerifier:
    """A verifier of the tokens the configured auth service signs for us."""
    times = KeySetTimes(settings.jwks_lifespan, settings.jwks_min_interval, settings.jwks_outage_grace)
    return TokenVerifier(settings.jwks_url, settings.jwt_issuer, settings.jwt_audience, key_times=times)


def new_revocation_check(settings: RevocationSettings, data_dir: Path) -> RevocationCheck | None:
    """The revocation check MONTY_USERS_URL asks for, or None when it is empty."""
    if not settings.users_url:
        return None
    secret = settings.service_secret or read_or_create_secret(data_dir / "service-secret")
    directory = UserDirectory(settings.users_url, secret, settings.users_timeout)
    return RevocationCheck(directory, settings.revocation_delay, settings.revocation_outage_grace)


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
        raise _cannot_check("keys-unavailable", str(error)) from None
    _refuse_if_revoked(principal)
    g.monty_principal = principal
    return principal


def _refuse_if_revoked(principal: Principal) -> None:
    """401 if the token was revoked since it was issued, 503 if that cannot be known now."""
    revocation = token_revocation.get()
    if revocation is None:
        return
    try:
        revocation.check(principal)
    except TokenRevoked as error:
        raise _unauthorized(f"The token was refused: {error}.", "invalid_token") from None
    except UserStatusUnavailable as error:
        raise _cannot_check("users-unavailable", str(error)) from None


def _cannot_check(slug: str, reason: str) -> ProblemError:
    """503 with Retry-After: the token cannot be checked now."""
    retry_after = current_settings(ServiceSettings).retry_after
    return ProblemError(
        503,
        slug,
        "Service Unavailable",
        f"Tokens cannot be checked now: {reason}.",
        {"Retry-After": str(retry_after)},
    )


def current_principal() -> Principal:
    """The principal authenticated for this request."""
    principal: Principal = g.monty_principal
    return principal
