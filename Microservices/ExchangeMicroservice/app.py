"""Start the exchange service: `python Microservices/ExchangeMicroservice/app.py` (port 9047 by default)."""

import sys

from exchange_service import create_app
from exchange_service.extensions import broker_topology
from exchange_service.schema import init_database
from exchange_service.settings import ExchangeSettings
from monty_common.serving import load_settings, run_service


def main() -> int:
    """Check settings, broker and queues, prepare the idempotency store, then serve with gunicorn."""
    return run_service(
        "montyexchange-exchange",
        create_app,
        load_settings(ExchangeSettings),
        init_database,
        lambda settings: broker_topology(settings).durable_queues(),
    )


if __name__ == "__main__":
    sys.exit(main())
