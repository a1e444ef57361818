"""HTTP routes of the auth service: POST /auth/token and GET /.well-known/jwks.json."""

from typing import Any

from flask import Response, jsonify, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, Field

from auth_service.extensions import issuer, key_set, login_throttle, throttled_logins, users
from auth_service.settings import AuthSettings
from auth_service.throttled_logins import USERNAME_MAX
from auth_service.users_client import UsersUnavailable
from monty_common.metrics import add, instruments
from monty_common.openapi_app import problem_doc
from monty_common.problems import ProblemError
from monty_common.service_app import current_settings


class Credentials(BaseModel):
    """A login."""

    username: str = Field(min_length=1, max_length=USERNAME_MAX)
    password: str = Field(min_length=1, max_length=1024)


class TokenAnswer(BaseModel):
    """An access token (RFC 6749 section 5.1)."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the token type, not a secret
    expires_in: int


def _body_is_an_object() -> None:
    """Only a JSON object is a login: a JSON string holding one would dodge the per-account limits."""
    if request.method == "POST" and not isinstance(request.get_json(silent=True), dict):
        raise ProblemError(400, "invalid-parameters", "Invalid Request", "The body must be a JSON object.")


INVALID = ProblemError(401, "invalid-credentials", "Invalid Credentials", "Invalid username or password.")


def issue_token(body: Credentials) -> Any:
    """Count the attempt, check the credentials with the user service and answer a signed token.

    The attempt is counted before the password is checked (429 past a limit, recorded in the audit
    log); a success, or an attempt the user service never checked, gives its count back: only
    failures stay counted.
    """
    throttle = login_throttle.get()
    logins = instruments().logins
    try:
        attempt = throttle.count(body.username)
    except ProblemError as refused:
        if refused.status == 429:
            add(logins, "throttled")
            throttled_logins.get().record(body.username)
        raise
    try:
        user = users.get().verify(body.username, body.password, request.remote_addr)
    except UsersUnavailable as error:
        throttle.give_back(attempt)
        retry_after = str(current_settings(AuthSettings).retry_after)
        raise ProblemError(
            503, "users-unavailable", "User Service Unavailable", str(error), {"Retry-After": retry_after}
        ) from None
    if user is None:
        add(logins, "failed")
        raise INVALID
    add(logins, "succeeded")
    throttle.give_back(attempt)
    token = issuer.get().issue(user.id, user.username, user.roles, user.token_version)
    answer = jsonify(TokenAnswer(access_token=token.access_token, expires_in=token.expires_in).model_dump())
    answer.headers["Cache-Control"] = "no-store"
    return answer


class PublicKey(BaseModel):
    """One Ed25519 public key as a JWK (RFC 8037)."""

    kty: str = Field(json_schema_extra={"const": "OKP"})
    crv: str = Field(json_schema_extra={"const": "Ed25519"})
    x: str = Field(description="The public key, base64url.")
    kid: str = Field(description="The key's RFC 7638 thumbprint; tokens name it in their header.")
    alg: str = Field(json_schema_extra={"const": "EdDSA"})
    use: str = Field(json_schema_extra={"const": "sig"})


class KeySet(BaseModel):
    """The JWKS: the current signing key first, then retired keys whose tokens may still be valid."""

    keys: list[PublicKey]


def jwks() -> Response:
    """The JWKS, cacheable for five minutes."""
    answer = jsonify(key_set.get())
    answer.headers["Cache-Control"] = "public, max-age=300"
    return answer


auth_blueprint = APIBlueprint("auth", __name__, abp_tags=[Tag(name="auth", description="Access tokens")])
auth_blueprint.before_request(_body_is_an_object)
auth_blueprint.post(
    "/auth/token",
    summary="Log in: trade a username and password for an access token",
    responses={
        200: TokenAnswer,
        400: problem_doc("The body is not a JSON object with username and password."),
        401: problem_doc("Invalid username or password (the same answer for an unknown user)."),
        429: problem_doc(
            "Too many failed logins for this account or from this address; recorded in the user "
            "service's audit log (login_throttled), once per address a minute.",
            True,
        ),
        503: problem_doc("The user service, or the store of login counts, is unavailable.", True),
    },
)(issue_token)
auth_blueprint.get(
    "/.well-known/jwks.json",
    summary="The public keys that verify access tokens",
    responses={200: KeySet},
)(jwks)
