"""What a producer may ask of a publish besides its body: headers of its own, and a delay."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from monty_common.openapi_app import DocHook
from monty_common.problems import ProblemError
from monty_common.request_ids import message_trace_headers
from monty_common.user_headers import (
    MAX_HEADERS,
    MAX_TOTAL_LENGTH,
    MAX_VALUE_LENGTH,
    name_fault,
    total_fault,
    value_fault,
)

HEADER_PREFIX = "Monty-Header-"
PUBLISH_PATHS = ("/Message", "/Messages")


@dataclass(frozen=True)
class PublishOptions:
    """The client's headers ({lower-case name: value}), the seconds the message waits, and the AMQP
    headers naming the publishing request (monty_common/request_ids.py)."""

    headers: dict[str, str] = field(default_factory=dict)
    delay: int = 0
    trace: dict[str, str] = field(default_factory=dict)


def publish_options(request_headers: Iterable[tuple[str, str]], delay: int, max_delay: int) -> PublishOptions:
    """The options a request asks for; a 422 problem naming what breaks a rule, before anything is
    published."""
    check_delay(delay, max_delay)
    return PublishOptions(client_headers(request_headers), delay, message_trace_headers())


def check_delay(delay: int, max_delay: int) -> None:
    """A 422 problem for a delay past MONTY_MAX_DELAY (a publish's, or a nack's)."""
    if delay > max_delay:
        raise ProblemError(
            422,
            "delay-too-long",
            "Delay Too Long",
            f"A message may be delayed at most {max_delay} seconds (MONTY_MAX_DELAY), not {delay}.",
        )


def client_headers(request_headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The request's Monty-Header-<name> headers as {name: value}, names lower-cased; 422 naming each
    header that breaks a rule (monty_common/user_headers.py)."""
    headers: dict[str, str] = {}
    invalid: list[dict[str, str]] = []
    for http_name, value in request_headers:
        if not http_name.lower().startswith(HEADER_PREFIX.lower()):
            continue
        name = http_name[len(HEADER_PREFIX) :].lower()
        fault = name_fault(name) or value_fault(value)
        if fault is None:
            headers[name] = value
        else:
            invalid.append({"name": http_name, "reason": fault})
    if not invalid and (fault := total_fault(headers)) is not None:
        invalid.append({"name": f"{HEADER_PREFIX}*", "reason": fault})
    if invalid:
        named = "; ".join(f"{item['name']}: {item['reason']}" for item in invalid)
        raise ProblemError(
            422,
            "invalid-message-headers",
            "Invalid Message Headers",
            f"Nothing was published. {named}.",
            invalid_params=invalid,
        )
    return headers


def document_max_delay(max_delay: int) -> DocHook:
    """A hook showing MONTY_MAX_DELAY as the maximum of each publish route's delay parameter."""

    def hook(spec: dict[str, Any]) -> None:
        for path in PUBLISH_PATHS:
            for parameter in spec["paths"][path]["post"].get("parameters", []):
                if parameter["name"] == "delay":
                    parameter["schema"]["maximum"] = max_delay

    return hook


HEADERS_DOC = (
    f"Headers of the client's own go with the message (each message of a batch) as "
    f"`{HEADER_PREFIX}<name>: <value>`: a name "
    "is 1 to 64 letters, digits and hyphens (read in lower case, not starting with a hyphen; a name "
    f"with an underscore never reaches the gateway, the server drops it), a value 0 to {MAX_VALUE_LENGTH} "
    f"visible ASCII characters or spaces; at most {MAX_HEADERS} headers, names and values together at "
    f"most {MAX_TOTAL_LENGTH} characters. Names starting with x- (the broker's, such as x-death) or "
    "monty- (the gateway's) are reserved. Any header breaking a rule makes the answer 422 naming it, and "
    "nothing is published. Every consume gives them back, and the gateway's signature covers them."
)
DELAY_DOC = (
    "With delay=N (seconds, up to MONTY_MAX_DELAY) the message waits N seconds before it reaches the "
    "queue: no consumer, nor the archive, sees it earlier. The answer (each result of a batch) then "
    "gives deliver_at."
)
