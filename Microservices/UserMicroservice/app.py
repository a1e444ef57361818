"""Start the user service: `python Microservices/UserMicroservice/app.py` (port 9048 by default)."""

import sys

from monty_common.serving import load_settings, one_process_for_memory_counts, run_service
from user_service import create_app
from user_service.schema import init_database
from user_service.settings import UserSettings


def main() -> int:
    """Check settings, migrate the database and make the first admin, then serve with gunicorn."""
    settings = one_process_for_memory_counts(load_settings(UserSettings))
    return run_service("montyexchange-users", create_app, settings, init_database)


if __name__ == "__main__":
    sys.exit(main())
