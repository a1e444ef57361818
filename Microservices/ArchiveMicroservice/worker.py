"""Start the archive worker: `python Microservices/ArchiveMicroservice/worker.py`.

It copies every message published to MONTY_EXCHANGE with MONTY_ROUTING_KEY into the archive
database, through the queue MONTY_ARCHIVE_QUEUE, and serves its Prometheus metrics on
MONTY_WORKER_METRICS_PORT (unless MONTY_METRICS is false); SIGTERM stops it cleanly.
"""

import sys

from archive_service.settings import ArchiveSettings
from archive_service.worker_process import run_worker
from monty_common.serving import load_settings


def main() -> int:
    """Check settings, then archive until stopped."""
    return run_worker(load_settings(ArchiveSettings))


if __name__ == "__main__":
    sys.exit(main())
