"""Start the auth service: `python Microservices/AuthMicroservice/app.py` (port 9049 by default)."""

import sys

from auth_service import create_app
from auth_service.settings import AuthSettings
from monty_common.serving import load_settings, run_service


def main() -> int:
    """Check settings, then serve with gunicorn."""
    settings = load_settings(AuthSettings)
    if settings.rate_limit_storage.startswith("memory://"):
        # In-memory counters live in one process: more workers would each allow the full limit.
        settings = settings.model_copy(update={"workers": 1})
    return run_service("montyexchange-auth", create_app, settings)


if __name__ == "__main__":
    sys.exit(main())
