"""Serve a comparison app exactly as the services are served: `python bench/serve_app.py noop|seed`.

Both go through monty_common.serving.run_service, so they get the exchange service's gunicorn
options (worker class, MONTY_WORKERS x MONTY_THREADS, timeouts, keep-alive) without a copy of them.
"""

import sys
from collections.abc import Callable

from flask import Flask

from monty_common.openapi_app import DEFAULT_MAX_BODY_BYTES
from monty_common.serving import load_settings, run_service
from monty_common.settings import ServiceSettings
from noop_app import create_noop_app
from seed_baseline import app as seed_app


def _seed_app(_settings: ServiceSettings) -> Flask:
    """The seed's module-level app (its design builds it at import; it opens nothing until a request),
    with the gateway's body limit: the server reads bodies up to it ahead, and keeps the connection."""
    seed_app.config["MAX_CONTENT_LENGTH"] = DEFAULT_MAX_BODY_BYTES
    return seed_app


APPS: dict[str, Callable[[ServiceSettings], Flask]] = {"noop": create_noop_app, "seed": _seed_app}


def main(argv: list[str]) -> int:
    """Serve the app named by the one argument until stopped."""
    if len(argv) != 2 or argv[1] not in APPS:
        print(f"usage: {argv[0]} {'|'.join(APPS)}", file=sys.stderr)
        return 2
    return run_service(f"bench-{argv[1]}", APPS[argv[1]], load_settings(ServiceSettings))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
