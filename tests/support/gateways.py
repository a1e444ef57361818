"""Exchange gateway instances for tests that run several, as users start them (gunicorn, two processes)."""

from collections.abc import Callable

from support.leases import LeaseClient
from support.names import Names
from support.processes import ServiceProcess
from support.queue_types import tested_queue_type
from support.users import SERVICE_SECRET

EXCHANGE_APP = "Microservices/ExchangeMicroservice/app.py"

# start(count, settings): that many more instances, healthy, each in a process group of its own.
StartGateways = Callable[[int, dict[str, str]], list[ServiceProcess]]
# client_for(gateway, queue=None): a user's LeaseClient of that instance.
ClientFor = Callable[..., LeaseClient]


def gateway_settings(amqp_url: str, names: Names, jwks_url: str) -> dict[str, str]:
    """Settings every instance of one test shares: broker, names, keys and service secret."""
    return {
        "MONTY_AMQP_URL": amqp_url,
        "MONTY_EXCHANGE": names.exchange,
        "MONTY_QUEUE": names.queue,
        "MONTY_ROUTING_KEY": names.routing_key,
        "MONTY_QUEUE_TYPE": tested_queue_type(),
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
