"""The exchange's extensions, unbound: each app gets its own in create_app; read them through `get`."""

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from exchange_service.dead_letters import DeadLetters
from exchange_service.idempotency_ledger import IdempotencyLedger
from exchange_service.idempotency_records import KeyStore
from exchange_service.idempotency_redis import RedisKeyStore
from exchange_service.idempotency_sql import SqlKeyStore
from exchange_service.message_schema import MessageSchema
from exchange_service.receipts import ReceiptSigner
from exchange_service.settings import ExchangeSettings
from monty_common.audit_events import AuditClient
from monty_common.auth import token_revocation, token_verifier
from monty_common.broker import (
    BrokerUnavailable,
    ConfirmedPublisher,
    MessageGetter,
    Topology,
    dead_letter_queue_of,
)
from monty_common.broker.browser import QueueBrowser
from monty_common.broker.leases import LeaseHolder, LeasePolicy
from monty_common.extension import Extension
from monty_common.producer_stamp import ProducerStamp

__all__ = [
    "BrokerLinks",
    "audit_client",
    "broker",
    "broker_topology",
    "dead_letters",
    "idempotency_keys",
    "message_schema",
    "new_audit_client",
    "new_broker_links",
    "new_dead_letters",
    "new_idempotency_ledger",
    "producer_stamp",
    "receipt_signer",
    "token_revocation",
    "token_verifier",
    "wait_slots",
]

SERVICE_NAME = "exchange"
# A claimed Idempotency-Key is held for the longest a publish takes (MONTY_BROKER_TIMEOUT) and this
# much more; a key still held after that belongs to a request that died mid-publish, and is taken over.
IN_PROGRESS_MARGIN = timedelta(seconds=10)


@dataclass(frozen=True)
class BrokerLinks:
    """One connection publishes, another takes messages, a third holds leases: an alarm that blocks
    publishers never stops consumers from draining the queue, and leases never share a channel
    with takes that acknowledge at once."""

    publisher: ConfirmedPublisher
    getter: MessageGetter
    leases: LeaseHolder

    def close(self) -> None:
        """Close the connections (leased messages go back to the queue)."""
        self.leases.close()
        self.publisher.close()
        self.getter.close()

    def end_waits(self) -> None:
        """Answer the requests waiting for messages now, takes and receives (the server is stopping)."""
        self.getter.end_waits()
        self.leases.end_waits()

    def readiness(self, timeout: float) -> dict[str, str]:
        """ "ok" per link once connected (opening it if needed), or why it is not."""
        deadline = time.monotonic() + timeout
        checks: dict[str, str] = {}
        # The leases' link opens with the first lease request: most processes never need it.
        for link in (self.publisher.link, self.getter.link):
            try:
                link.wait_ready(deadline)
            except BrokerUnavailable as error:
                checks[f"broker_{link.name}"] = str(error)
                continue
            checks[f"broker_{link.name}"] = "blocked by a resource alarm" if link.is_blocked else "ok"
        return checks


def broker_topology(settings: ExchangeSettings) -> Topology:
    """The exchange, queue and dead-letter queue the gateway declares, of MONTY_QUEUE_TYPE."""
    return Topology(
        settings.exchange,
        settings.queue,
        settings.routing_key,
        dead_letter_queue_of(settings.queue),
        settings.queue_type,
    )


def new_broker_links(settings: ExchangeSettings) -> BrokerLinks:
    """The links to the configured exchange and queue; they connect on first use, after the server forks."""
    topology = broker_topology(settings)
    publisher = ConfirmedPublisher(settings, topology, SERVICE_NAME)
    policy = LeasePolicy(
        settings.max_deliveries_of(settings.queue), settings.max_lease_seconds, settings.max_leased_bytes
    )
    return BrokerLinks(
        publisher=publisher,
        getter=MessageGetter(settings, topology, SERVICE_NAME),
        leases=LeaseHolder(settings, topology, SERVICE_NAME, publisher, policy),
    )


def new_idempotency_ledger(settings: ExchangeSettings) -> IdempotencyLedger:
    """The ledger of Idempotency-Keys over the configured store; it connects on first use."""
    url = settings.resolved_idempotency_url()
    store: KeyStore = SqlKeyStore(url) if settings.idempotency_in_database() else RedisKeyStore(url)
    hold = timedelta(seconds=settings.broker_timeout) + IN_PROGRESS_MARGIN
    return IdempotencyLedger(store, timedelta(seconds=settings.idempotency_window), hold)


def new_dead_letters(settings: ExchangeSettings, links: BrokerLinks) -> DeadLetters:
    """Dead letters browsed on connections of their own and redriven through the links' publisher."""
    return DeadLetters(QueueBrowser(settings, SERVICE_NAME), links.publisher, settings.dead_letter_scan)


def new_audit_client(settings: ExchangeSettings, secret: str) -> AuditClient | None:
    """The user service's audit log at MONTY_USERS_URL, or None when it is empty (redrives are then
    audited only in the log)."""
    return AuditClient(settings.users_url, secret, settings.users_timeout) if settings.users_url else None


broker = Extension[BrokerLinks]("monty.broker")
# Lists, looks up and redrives the dead letters of the gateway's queues (admin routes).
dead_letters = Extension[DeadLetters]("monty.dead_letters")
# The compiled MONTY_MESSAGE_SCHEMA, or None when any JSON value may be published.
message_schema = Extension[MessageSchema | None]("monty.message_schema")
# Taken by each request that waits for messages (see waiting.py).
wait_slots = Extension[threading.BoundedSemaphore]("monty.wait_slots")
# Signs the producer of each message published, and checks it on consume.
producer_stamp = Extension[ProducerStamp]("monty.producer_stamp")
# Claims Idempotency-Keys, in the store every process of every instance shares.
idempotency_keys = Extension[IdempotencyLedger]("monty.idempotency_keys")
# Issues and checks lease receipts.
receipt_signer = Extension[ReceiptSigner]("monty.receipt_signer")
# Records dead-letter redrives in the user service's audit log; None without MONTY_USERS_URL.
audit_client = Extension[AuditClient | None]("monty.audit_client")
