"""Start the auth service: `python Microservices/AuthMicroservice/app.py` (port 9049 by default)."""

import sys

from auth_service import create_app
from auth_service.settings import AuthSettings
from monty_common.serving import load_settings, one_process_for_memory_counts, run_service


def main() -> int:
    """Check settings, then serve with gunicorn."""
    settings = one_process_for_memory_counts(load_settings(AuthSettings))
    return run_service("montyexchange-auth", create_app, settings)


if __name__ == "__main__":
    sys.exit(main())
