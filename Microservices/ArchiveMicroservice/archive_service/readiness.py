"""Whether the archive's database and broker answer, and how far the worker is behind."""

from pika.exceptions import AMQPError

from archive_service.extensions import database
from archive_service.settings import ArchiveSettings
from archive_service.topology import ArchiveTopology
from monty_common.broker.addresses import BrokerAddresses, NoAddressAnswered, connect_blocking
from monty_common.broker.connection import describe_error
from monty_common.broker.queue_check import check_queues
from monty_common.health import Readiness


def broker_checks(settings: ArchiveSettings) -> tuple[dict[str, str], int | None]:
    """The broker's and the archive queue's state, and the queue's ready messages, on a short-lived
    connection to the first broker address that answers (passive declares: it never creates the
    queues, which are the worker's to declare; an existing queue of the other type is reported)."""
    topology = ArchiveTopology.of(settings)
    try:
        connection, _url, _parameters, _failures = connect_blocking(
            settings, "monty archive readiness", BrokerAddresses(settings.broker_urls)
        )
    except NoAddressAnswered as error:
        return {"broker": f"unavailable ({error.public})"}, None
    try:
        for check in check_queues(connection, topology.durable_queues()):
            if check.mismatch is not None:
                return {"broker": "ok", "archive_queue": f"misconfigured ({check.mismatch.sentence()})"}, None
        lag = topology.ready_count(connection.channel())
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
