"""The archive API's figures for /metrics, read at scrape time: the rows stored and the queue's depth
(the worker, a process of its own, serves its lag itself)."""

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from archive_service.extensions import database
from archive_service.models import ArchivedMessage
from archive_service.readiness import broker_checks
from archive_service.settings import ArchiveSettings

log = logging.getLogger(__name__)

# Seconds a server process reuses its figures: each reading opens a broker connection and counts
# the table, and /metrics needs no token, so scrapes in a burst must not each pay for one.
FIGURES_TTL = 5.0


@dataclass(frozen=True)
class _Figures:
    """What one reading found (None: could not be read), and when it was taken."""

    rows: int | None
    depth: int | None
    taken_at: float


class ArchiveCollector(Collector):
    """Rows the archive holds and the archive queue's depth, read at most every FIGURES_TTL."""

    def __init__(self, settings: ArchiveSettings) -> None:
        """Read the queue through `settings`' broker."""
        self._settings = settings
        self._figures: _Figures | None = None
        # Scrapes arriving together wait for one reading instead of each making their own.
        self._reading = threading.Lock()

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """The figures that could be read (one that cannot is left out)."""
        figures = self._current()
        if figures.rows is not None:
            # The archive never deletes: the rows it holds are the rows the workers wrote.
            yield CounterMetricFamily(
                "monty_archive_rows_written", "Messages the archive workers stored.", value=figures.rows
            )
        if figures.depth is not None:
            yield GaugeMetricFamily(
                "monty_archive_queue_depth", "Messages waiting to be archived.", value=figures.depth
            )

    def _current(self) -> _Figures:
        """The last reading while it is fresh, else a new one."""
        with self._reading:
            figures = self._figures
            if figures is None or time.monotonic() - figures.taken_at >= FIGURES_TTL:
                figures = self._figures = self._read()
            return figures

    def _read(self) -> _Figures:
        """Count the rows and ask the broker for the queue's depth, now."""
        _checks, depth = broker_checks(self._settings)
        rows: int | None = None
        try:
            with database.session() as session:
                rows = session.execute(select(func.count()).select_from(ArchivedMessage)).scalar_one()
        except SQLAlchemyError as error:
            log.warning("archive metrics: database unavailable: %s", error)
        return _Figures(rows, depth, time.monotonic())
