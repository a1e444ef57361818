"""Auditing dead-letter redrives: each is recorded in the user service's audit log and logged as a
monty.audit line, once it has run; neither ever changes the redrive's answer."""

import logging

from flask import g, request

from exchange_service.extensions import audit_client
from monty_common.audit_events import CLIENT_MAX, AuditUnavailable, Outcome, ServiceAction, readable
from monty_common.auth import current_principal

_audit_log = logging.getLogger("monty.audit")


def record_redrive(queue: str, requested: int | None, redriven: int, status: int) -> None:
    """Record the current admin's redrive of `queue`: `requested` ids (None: all), how many went back
    and the status answered (a 503 or 504 is a redrive that failed midway)."""
    principal = current_principal()
    event = {
        "action": ServiceAction.DEAD_LETTERS_REDRIVEN.value,
        "outcome": (Outcome.SUCCEEDED if status == 200 else Outcome.FAILED).value,
        "actor_id": principal.subject,
        "actor": principal.username,
        "target": queue,
        "request_id": g.get("request_id"),
        "client": readable((request.remote_addr or "")[:CLIENT_MAX]) or None,
        "details": {
            "requested": "all" if requested is None else requested,
            "redriven": redriven,
            "status": status,
        },
    }
    client = audit_client.get()
    if client is None:
        # No user service configured (MONTY_USERS_URL empty): this line is the only record.
        _audit_log.info(ServiceAction.DEAD_LETTERS_REDRIVEN.value, extra={**event, "recorded": None})
        return
    try:
        client.record(event)
    except AuditUnavailable as error:
        # The whole event, so that it can still be found, and entered by hand if need be.
        _audit_log.error(
            ServiceAction.DEAD_LETTERS_REDRIVEN.value, extra={**event, "recorded": False, "error": str(error)}
        )
        return
    _audit_log.info(ServiceAction.DEAD_LETTERS_REDRIVEN.value, extra={**event, "recorded": True})
