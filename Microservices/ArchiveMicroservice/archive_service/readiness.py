"""Whether the archive's database and broker answer, and how far the worker is behind."""

from dataclasses import dataclass, field

import pika
from pika.exceptions import AMQPError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from archive_service.extensions import database
from archive_service.settings import ArchiveSettings
from archive_service.topology import ArchiveTopology
from monty_common.broker.connection import connection_parameters, describe_error


@dataclass(frozen=True)
class Readiness:
    """Each component's state ("ok" or why not), and the messages waiting to be archived."""

    checks: dict[str, str] = field(default_factory=dict)
    archive_lag: int | None = None

    @property
    def ready(self) -> bool:
        """Whether every component is ok."""
        return all(state == "ok" for state in self.checks.values())


def database_check() -> str:
    """ "ok" when the database answers SELECT 1, or why it does not."""
    try:
        with database.session() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        # The class name says enough; the message may carry the database URL.
        return f"unavailable ({type(error).__name__})"
    return "ok"


def broker_checks(settings: ArchiveSettings) -> tuple[dict[str, str], int | None]:
    """The broker's and the archive queue's state, and the queue's ready messages, on a short-lived
    connection (a passive declare: it never creates the queue, which is the worker's to declare)."""
    try:
        connection = pika.BlockingConnection(connection_parameters(settings, "monty archive readiness"))
    except AMQPError as error:
        return {"broker": f"unavailable ({describe_error(error)})"}, None
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
    """The state of the database, the broker and the archive queue, with the lag when it is known."""
    checks, lag = broker_checks(settings)
    return Readiness({"database": database_check(), **checks}, lag)
