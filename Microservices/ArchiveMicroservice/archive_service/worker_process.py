"""The archive worker as a process: settings, migrations, signals, its metrics and the worker's lifetime."""

import logging
import signal
import time
from contextlib import ExitStack
from types import FrameType

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from archive_service.schema import init_database
from archive_service.settings import ArchiveSettings
from archive_service.topology import ArchiveTopology
from archive_service.worker import POLL_SECONDS, ArchiveWorker
from archive_service.worker_metrics import MetricsListener
from archive_service.worker_progress import ProgressBoard
from monty_common.backoff import Backoff
from monty_common.database import make_engine
from monty_common.logging_setup import configure_logging
from monty_common.serving import MISCONFIGURED, check_broker

log = logging.getLogger(__name__)


class StopFlag:
    """Set by SIGTERM or SIGINT; what the worker checks between messages."""

    def __init__(self) -> None:
        """Not set yet; nothing is installed until `install`."""
        self.is_set = False
        self.listeners: list[ArchiveWorker] = []

    def install(self) -> None:
        """Set the flag on SIGTERM and SIGINT."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds`, waking early once the flag is set."""
        deadline = time.monotonic() + seconds
        while not self.is_set and time.monotonic() < deadline:
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        """Ask everything to stop."""
        log.info("stop requested", extra={"signal": signal.Signals(signum).name})
        self.is_set = True
        for worker in self.listeners:
            worker.stop()


def migrate_when_reachable(settings: ArchiveSettings, stop: StopFlag) -> bool:
    """Migrate the database, retrying with capped backoff while it is unreachable; False if stopped."""
    backoff = Backoff()
    while not stop.is_set:
        try:
            init_database(settings)
            return True
        except SQLAlchemyError as error:
            log.warning("database unreachable, retrying the migration", extra={"error": type(error).__name__})
        stop.sleep(backoff.next_delay())
    return False


def serve_metrics(settings: ArchiveSettings, board: ProgressBoard, resources: ExitStack) -> bool:
    """Serve `board`'s figures on MONTY_HOST:MONTY_WORKER_METRICS_PORT until `resources` close, when
    MONTY_METRICS is true; False (logged) when the port cannot be listened on."""
    if not settings.metrics:
        return True
    try:
        listener = MetricsListener.start(settings.host, settings.worker_metrics_port, board)
    except OSError as error:
        log.error(
            "cannot serve metrics on %s:%d (MONTY_WORKER_METRICS_PORT): %s",
            settings.host,
            settings.worker_metrics_port,
            error,
        )
        return False
    resources.callback(listener.close)
    return True


def run_worker(settings: ArchiveSettings) -> int:
    """Archive messages until SIGTERM or SIGINT; 0 on a clean stop, 2 when an archive queue exists
    with other arguments (another type) than configured or the metrics port cannot be listened on."""
    configure_logging(settings.log_level)
    # An unreachable broker is waited for (the worker reconnects); a queue it cannot use is not.
    check = check_broker(settings, ArchiveTopology.of(settings).durable_queues())
    check.report("montyexchange-archive-worker")
    if check.mismatches:
        return MISCONFIGURED
    board = ProgressBoard()
    with ExitStack() as resources:
        # Before anything is consumed: a worker whose figures cannot be served stops untouched.
        if not serve_metrics(settings, board, resources):
            return MISCONFIGURED
        stop = StopFlag()
        stop.install()
        # One process: it migrates for itself, as `init-db` does for the API's server.
        if not migrate_when_reachable(settings, stop):
            return 0
        engine = make_engine(settings.resolved_database_url())
        resources.callback(engine.dispose)
        worker = ArchiveWorker(settings, sessionmaker(engine, expire_on_commit=False), board)
        stop.listeners.append(worker)
        if not stop.is_set:
            worker.run()
    return 0
