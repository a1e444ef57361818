"""Whether the archive's database and broker answer, and how far the worker is behind."""

import pika
from pika.exceptions import AMQPError

from archive_service.extensions import database
from archive_service.settings import ArchiveSettings
from archive_service.topology import ArchiveTopology
from monty_common.broker.connection import (
    CONNECT_ERRORS,
    connection_parameters,
    describe_error,
    without_address,
)
from monty_common.health import Readiness


def broker_checks(settings: ArchiveSettings) -> tuple[dict[str, str], int | None]:
    """The broker's and the archive queue's state, and the queue's ready messages, on a short-lived
    connection (a passive declare: it never creates the queue, which is the worker's to declare)."""
    parameters = connection_parameters(settings, "monty archive readiness")
    try:
        connection = pika.BlockingConnection(parameters)
    except CONNECT_ERRORS as error:
        return {"broker": f"unavailable ({without_address(describe_error(error), parameters)})"}, None
    try:
        lag = ArchiveTopology.of(settings).ready_count(connection.channel())
    except AMQPError as error:
        # Most likely the queue does not exist yet: the worker has never run.
        return {"broker": "ok", "archive_queue": f"unavailable ({describe_error(error)})"}, None
    finally:
        if connection.is_open:
            connection.close()
    return {"broker": "ok", "archive_queue": "ok"}, lag


def readiness(settings: ArchiveSettings) -> Readiness:
    """The state of the database, the broker and the archive queue, with the archive lag when known."""
    checks, lag = broker_checks(settings)
    return Readiness({**database.readiness(), **checks}, {"archive_lag": lag})
