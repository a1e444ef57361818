"""The exchange's broker links, bound to an app in init_app."""

import time
from dataclasses import dataclass

from flask import Flask, current_app

from exchange_service.settings import ExchangeSettings
from monty_common.broker import BrokerUnavailable, ConfirmedPublisher, MessageGetter, Topology
from monty_common.lifecycle import on_close

SERVICE_NAME = "exchange"


@dataclass(frozen=True)
class BrokerLinks:
    """One connection publishes, another takes messages, so an alarm that blocks publishers never
    stops consumers from draining the queue."""

    publisher: ConfirmedPublisher
    getter: MessageGetter

    def close(self) -> None:
        """Close both connections."""
        self.publisher.close()
        self.getter.close()

    def readiness(self, timeout: float) -> dict[str, str]:
        """ "ok" per link once connected (opening it if needed), or why it is not."""
        deadline = time.monotonic() + timeout
        checks: dict[str, str] = {}
        for link in (self.publisher.link, self.getter.link):
            try:
                link.wait_ready(deadline)
            except BrokerUnavailable as error:
                checks[f"broker_{link.name}"] = str(error)
                continue
            checks[f"broker_{link.name}"] = "blocked by a resource alarm" if link.is_blocked else "ok"
        return checks


class ExchangeBroker:
    """Flask extension owning the broker links of each app."""

    key = "monty.broker"

    def init_app(self, app: Flask, settings: ExchangeSettings) -> None:
        """Create the app's links; they connect on first use, after the server forks."""
        topology = Topology(settings.exchange, settings.queue, settings.routing_key)
        links = BrokerLinks(
            publisher=ConfirmedPublisher(settings, topology, SERVICE_NAME),
            getter=MessageGetter(settings, topology, SERVICE_NAME),
        )
        app.extensions[self.key] = links
        on_close(app, links.close)

    @property
    def links(self) -> BrokerLinks:
        """The current app's links."""
        links: BrokerLinks = current_app.extensions[self.key]
        return links


broker = ExchangeBroker()
