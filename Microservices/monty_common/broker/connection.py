"""How a service connects to RabbitMQ, and how connection failures are put into words."""

import re
import ssl
from collections.abc import Iterator

import pika
from pika.exceptions import AMQPError

from monty_common.settings import BrokerSettings

# What opening a connection raises: pika's errors, and (from BlockingConnection) the socket's or
# TLS's own when they are the whole story.
CONNECT_ERRORS = (AMQPError, OSError)


def redact_url(url: str) -> str:
    """Hide the password of an AMQP URL for logs and messages."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    userinfo, _, hostpart = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{hostpart}"


def connection_parameters(
    settings: BrokerSettings, connection_name: str, url: str | None = None
) -> pika.URLParameters:
    """pika parameters for `url` (the first of `settings`' broker URLs if None), with heartbeats and
    timeouts set."""
    params = pika.URLParameters(url if url is not None else settings.broker_urls[0])
    if params.ssl_options is not None:  # amqps://
        params.ssl_options = tls_options(settings, params.host)
    params.heartbeat = settings.amqp_heartbeat
    params.blocked_connection_timeout = settings.amqp_blocked_timeout
    params.socket_timeout = settings.amqp_connect_timeout
    params.stack_timeout = settings.amqp_connect_timeout * 2
    params.connection_attempts = 1
    params.client_properties = {"connection_name": connection_name}
    return params


def tls_options(settings: BrokerSettings, host: str) -> pika.SSLOptions:
    """TLS that verifies the broker's certificate (against MONTY_AMQP_CA_FILE, or the system's CAs)
    and that it names `host`; TLS 1.2 at least. There is no setting to turn verification off."""
    cafile = str(settings.amqp_ca_file) if settings.amqp_ca_file is not None else None
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return pika.SSLOptions(context, server_hostname=host)


def describe_error(error: BaseException) -> str:
    """A short, readable reason for a connection or channel error (pika nests the cause in args)."""
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS: the broker's certificate was refused (verify failed: {cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS: {cause}"
    nested = _nested(error)
    if not error.args and nested:
        return describe_error(nested[-1])  # a wrapper with nothing to say of its own
    text = "; ".join(str(arg) or repr(arg) for arg in error.args) or type(error).__name__
    return text if text.startswith(type(error).__name__) else f"{type(error).__name__}: {text}"


def _nested(error: BaseException) -> list[BaseException]:
    """The errors pika wrapped in `error`: a connection workflow's attempts, a phase's error, or args."""
    attempts: tuple[BaseException, ...] = getattr(error, "exceptions", ())
    phase: BaseException | None = getattr(error, "exception", None)
    return list(attempts) or (
        [phase] if phase is not None else [a for a in error.args if isinstance(a, BaseException)]
    )


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, then each error nested in it, the last attempt's when there were several."""
    current: BaseException | None = error
    while current is not None:
        yield current
        nested = _nested(current)
        current = nested[-1] if nested else None


def without_address(reason: str, parameters: pika.ConnectionParameters) -> str:
    """`reason` without the broker's host or user name: what a client may read (logs name them)."""
    hidden = {parameters.host: "<broker>", getattr(parameters.credentials, "username", ""): "<user>"}
    for name, placeholder in sorted(hidden.items(), key=lambda item: -len(item[0])):
        if name:
            # Whole names only: a user called "a" must not garble the rest of the sentence.
            reason = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", placeholder, reason)
    return reason
