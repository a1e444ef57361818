"""Start the user service: `python Microservices/UserMicroservice/app.py` (port 9048 by default)."""

import sys

from monty_common.serving import load_settings, run_service
from user_service import create_app
from user_service.schema import init_database
from user_service.settings import UserSettings


def main() -> int:
    """Check settings, migrate the database and make the first admin, then serve with gunicorn."""
    return run_service("montyexchange-users", create_app, load_settings(UserSettings), init_database)


if __name__ == "__main__":
    sys.exit(main())
