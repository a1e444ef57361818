"""The archive's figures for /metrics, read at scrape time: the worker is a process of its own."""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

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
    """Rows the archive holds, the archive queue's depth, and how long the worker has stored nothing
    while messages wait."""

    def __init__(self, settings: ArchiveSettings) -> None:
        """Read the queue through `settings`' broker."""
        self._settings = settings

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """The figures that can be read now (one that cannot is left out)."""
        _checks, depth = broker_checks(self._settings)
        try:
            with database.session() as session:
                rows, last_stored = session.execute(
                    select(func.count(), func.max(ArchivedMessage.archived_at))
                ).one()
        except SQLAlchemyError as error:
            log.warning("archive metrics: database unavailable: %s", error)
            rows, last_stored = None, None
        if rows is not None:
            # The archive never deletes: the rows it holds are the rows the worker wrote.
            yield CounterMetricFamily(
                "monty_archive_rows_written", "Messages the archive worker stored.", value=rows
            )
        if depth is not None:
            yield GaugeMetricFamily(
                "monty_archive_queue_depth", "Messages waiting to be archived.", value=depth
            )
            lag = _lag(depth, last_stored, rows)
            if lag is not None:
                yield GaugeMetricFamily(
                    "monty_archive_lag_seconds",
                    "0 with no message waiting; else seconds since the worker last stored one.",
                    value=lag,
                )


def _lag(depth: int, last_stored: datetime | None, rows: int | None) -> float | None:
    """How far the worker is behind: 0 when nothing waits, else the age of its last store (None
    when messages wait and none was ever stored, or the database did not answer)."""
    if depth == 0:
        return 0.0
    if rows is None or last_stored is None:
        return None
    return max(0.0, (datetime.now(UTC) - last_stored).total_seconds())
