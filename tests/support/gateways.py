"""Exchange gateway instances for tests that run several, as users start them (gunicorn, two processes)."""

from collections.abc import Callable, Sequence
from pathlib import Path

from support.leases import LeaseClient
from support.names import Names
from support.processes import ServiceProcess, start_service, stop_all
from support.queue_types import queue_type_under_test
from support.users import SERVICE_SECRET

EXCHANGE_APP = "Microservices/ExchangeMicroservice/app.py"

# start(count, settings): that many more instances, healthy, each in a process group of its own.
StartGateways = Callable[[int, dict[str, str]], list[ServiceProcess]]
# client_for(gateway, queue=None): a user's LeaseClient of that instance.
ClientFor = Callable[..., LeaseClient]


def gateway_settings(
    amqp_url: str | Sequence[str], names: Names, jwks_url: str, queue_type: str | None = None
) -> dict[str, str]:
    """Settings every instance of one test shares: broker (one URL, or a cluster's list of URLs, and
    the type of the queues it declares: the tests' unless given), names, keys and service secret."""
    broker = (
        {"MONTY_AMQP_URL": amqp_url} if isinstance(amqp_url, str) else {"MONTY_AMQP_URLS": ",".join(amqp_url)}
    )
    return {
        **broker,
        "MONTY_QUEUE_TYPE": queue_type or queue_type_under_test(),
        "MONTY_EXCHANGE": names.exchange,
        "MONTY_QUEUE": names.queue,
        "MONTY_ROUTING_KEY": names.routing_key,
        "MONTY_JWKS_URL": jwks_url,
        "MONTY_SERVICE_SECRET": SERVICE_SECRET,
        # No user service here: tokens are not checked for revocation.
        "MONTY_USERS_URL": "",
        # Two server processes per instance, as deployed, so that calls land on either.
        "MONTY_WORKERS": "2",
        # Room for consumers that long-poll (half of a process's threads may wait).
        "MONTY_THREADS": "8",
    }


def client_factory(headers: dict[str, str], default_queue: str) -> ClientFor:
    """Makes a user's LeaseClient for a gateway and a queue (`default_queue` unless told)."""

    def client_for(gateway: ServiceProcess, queue: str | None = None) -> LeaseClient:
        """The user's client of `gateway`'s `queue`."""
        return LeaseClient(gateway.url, queue or default_queue, headers)

    return client_for


class GatewayFleet:
    """Starts gateway instances, each on its own port and in its own process group (so that a test can
    crash one whole), and stops every one it started."""

    def __init__(self, logs: Path) -> None:
        """Instances write their output into `logs`."""
        self._logs = logs
        self.started: list[ServiceProcess] = []

    def start(self, count: int, settings: dict[str, str]) -> list[ServiceProcess]:
        """`count` more instances with `settings`, once all are healthy."""
        first = len(self.started)
        for index in range(first, first + count):
            log = self._logs / f"gateway-{index}.log"
            self.started.append(
                start_service(EXCHANGE_APP, settings, log, name=f"gateway-{index}", own_group=True)
            )
        for gateway in self.started[first:]:
            gateway.wait_healthy()
        return self.started[first:]

    def stop_all(self) -> None:
        """Stop every instance started (those still running)."""
        stop_all(self.started)
