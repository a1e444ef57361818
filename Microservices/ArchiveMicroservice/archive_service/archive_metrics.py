"""The archive API's figures for /metrics, read at scrape time: the rows stored and the queue's depth
(the worker, a process of its own, serves its lag itself)."""

import logging
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from archive_service.extensions import database
from archive_service.models import ArchivedMessage
from archive_service.readiness import broker_checks
from archive_service.settings import ArchiveSettings

log = logging.getLogger(__name__)


class ArchiveCollector(Collector):
    """Rows the archive holds and the archive queue's depth."""

    def __init__(self, settings: ArchiveSettings) -> None:
        """Read the queue through `settings`' broker."""
        self._settings = settings

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """The figures that can be read now (one that cannot is left out)."""
        _checks, depth = broker_checks(self._settings)
        try:
            with database.session() as session:
                rows = session.execute(select(func.count()).select_from(ArchivedMessage)).scalar_one()
        except SQLAlchemyError as error:
            log.warning("archive metrics: database unavailable: %s", error)
        else:
            # The archive never deletes: the rows it holds are the rows the workers wrote.
            yield CounterMetricFamily(
                "monty_archive_rows_written", "Messages the archive workers stored.", value=rows
            )
        if depth is not None:
            yield GaugeMetricFamily(
                "monty_archive_queue_depth", "Messages waiting to be archived.", value=depth
            )
