"""Start the archive's HTTP API: `python Microservices/ArchiveMicroservice/app.py` (port 9050 by default)."""

import sys

from archive_service import create_app
from archive_service.schema import init_database
from archive_service.settings import ArchiveSettings
from archive_service.topology import ArchiveTopology
from monty_common.serving import load_settings, run_service


def main() -> int:
    """Check settings, broker and queues, migrate the database, then serve with gunicorn."""
    return run_service(
        "montyexchange-archive",
        create_app,
        load_settings(ArchiveSettings),
        init_database,
        lambda settings: ArchiveTopology.of(settings).durable_queues(),
    )


if __name__ == "__main__":
    sys.exit(main())
