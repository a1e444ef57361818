"""How a service connects to RabbitMQ, and how connection failures are put into words."""

import re

import pika

from monty_common.settings import BrokerSettings


def redact_url(url: str) -> str:
    """Hide the password of an AMQP URL for logs and messages."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    userinfo, _, hostpart = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{hostpart}"


def connection_parameters(settings: BrokerSettings, connection_name: str) -> pika.URLParameters:
    """pika parameters for `settings`, with heartbeats and timeouts set."""
    params = pika.URLParameters(settings.amqp_url)
    params.heartbeat = settings.amqp_heartbeat
    params.blocked_connection_timeout = settings.amqp_blocked_timeout
    params.socket_timeout = settings.amqp_connect_timeout
    params.stack_timeout = settings.amqp_connect_timeout * 2
    params.connection_attempts = 1
    params.client_properties = {"connection_name": connection_name}
    return params


def describe_error(error: BaseException) -> str:
    """A short, readable reason for a connection or channel error (pika nests the cause in args)."""
    text = "; ".join(str(arg) or repr(arg) for arg in error.args) or type(error).__name__
    return text if text.startswith(type(error).__name__) else f"{type(error).__name__}: {text}"


def without_address(reason: str, parameters: pika.ConnectionParameters) -> str:
    """`reason` without the broker's host or user name: what a client may read (logs name them)."""
    hidden = {parameters.host: "<broker>", getattr(parameters.credentials, "username", ""): "<user>"}
    for name, placeholder in sorted(hidden.items(), key=lambda item: -len(item[0])):
        if name:
            # Whole names only: a user called "a" must not garble the rest of the sentence.
            reason = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", placeholder, reason)
    return reason
