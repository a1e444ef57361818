"""Factories granian calls in each worker: `granian --interface wsgi --factory granian_apps:noop`.

granian imports this module by name, so its process needs bench/, Microservices/ and
Microservices/ExchangeMicroservice on PYTHONPATH (servers.py sets it). Settings come from the
MONTY_* environment, as under gunicorn; the exchange's broker links open lazily in each worker.
"""

from flask import Flask

from exchange_service import create_app
from exchange_service.settings import ExchangeSettings
from monty_common.settings import ServiceSettings
from noop_app import create_noop_app


def noop() -> Flask:
    """The no-op Flask app of bench/noop_app.py."""
    return create_noop_app(ServiceSettings())


def exchange() -> Flask:
    """The exchange service, built exactly as app.py builds it for gunicorn."""
    return create_app(ExchangeSettings())
