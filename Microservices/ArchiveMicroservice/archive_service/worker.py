"""The archive worker: consumes the archive queue and stores each message once, acking after commit."""

import logging
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.exceptions import (
    AMQPChannelError,
    AMQPConnectionError,
    ChannelClosedByBroker,
    ChannelWrongStateError,
    ConnectionClosedByBroker,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from archive_service.dead_letters import DeadLetters
from archive_service.records import ArchiveRecord, PoisonMessage, record_of
from archive_service.settings import ArchiveSettings
from archive_service.store import store_records
from archive_service.topology import ArchiveTopology
from archive_service.worker_progress import ProgressBoard
from monty_common.backoff import Backoff
from monty_common.broker.addresses import BrokerAddresses, NoAddressAnswered, connect_blocking
from monty_common.broker.connection import describe_error, redact_url
from monty_common.broker.queue_types import queue_mismatch
from monty_common.producer_stamp import ProducerStamp
from monty_common.service_secret import resolve_secret

log = logging.getLogger(__name__)

# How often the consume loop wakes up when no message arrives: to commit a waiting batch, notice a
# stop request and service heartbeats.
POLL_SECONDS = 0.1


@dataclass
class Batch:
    """Messages received and not yet committed, with the delivery tag of the newest."""

    records: list[ArchiveRecord]
    last_tag: int = 0
    started: float = 0.0

    def add(self, record: ArchiveRecord, tag: int) -> None:
        """Add a message to the batch."""
        if not self.records:
            self.started = time.monotonic()
        self.records.append(record)
        self.last_tag = tag

    def clear(self) -> None:
        """Forget the committed (or abandoned) messages."""
        self.records.clear()
        self.last_tag = 0


class ArchiveWorker:
    """Copies every message of the archive queue into the database.

    One thread owns the connection; heartbeats are serviced by `consume(inactivity_timeout=...)`
    and `connection.sleep`. A batch is acked (multiple=True) only once its transaction committed;
    while the database refuses commits, the batch is retried with capped backoff and nothing more
    is acked, so the rest waits in the queue. Inserts skip known message_ids, so messages
    redelivered after a crash between commit and ack are stored once.
    """

    def __init__(
        self, settings: ArchiveSettings, sessions: sessionmaker[Session], board: ProgressBoard | None = None
    ) -> None:
        """Prepare the worker, publishing what it holds and stores on `board`; nothing connects until
        `run`."""
        self.settings = settings
        self._board = board or ProgressBoard()
        self.topology = ArchiveTopology.of(settings)
        self._sessions = sessions
        self._stamp = ProducerStamp(resolve_secret(settings.service_secret, settings.data_dir))
        self._stopping = False
        self._connection: BlockingConnection | None = None
        self._consuming = False
        self._dead_letters: DeadLetters | None = None
        self._batch = Batch([])
        self._addresses = BrokerAddresses(settings.broker_urls)
        self._mismatch_told: str | None = None

    def stop(self) -> None:
        """Ask the worker to stop; safe from a signal handler (the loop notices within POLL_SECONDS,
        commits and acks what it received, gives back the rest and closes: see the README's
        "Graceful drain" for the bound)."""
        self._stopping = True

    def run(self) -> None:
        """Consume until stopped, reconnecting to the broker with capped backoff."""
        backoff = Backoff()
        while not self._stopping:
            self._consuming = False
            try:
                self._serve_one_connection()
            except ConnectionClosedByBroker as error:
                # 320 (forced: restart, shutdown, operator) and 541 (internal error) pass; others
                # such as a refused login will not, so the worker gives up on them loudly.
                if error.reply_code not in (320, 541):
                    raise
                log.warning("broker closed the connection, reconnecting", extra={"error": str(error)})
            except NoAddressAnswered as error:
                for failure in error.failures:
                    log.warning(
                        "broker unreachable, reconnecting",
                        extra={"broker": failure.url, "error": failure.reason},
                    )
            except (AMQPConnectionError, OSError) as error:
                # OSError: pika lets some failures to reach the broker through raw (a host name that
                # does not resolve yet, a TLS handshake cut short).
                log.warning("broker connection lost, reconnecting", extra={"error": describe_error(error)})
            except AMQPChannelError as error:
                # While consuming, the broker may close the channel (e.g. its consumer timeout when a
                # database outage held messages unacked too long): they are requeued, so reconnect.
                # Before that, a channel error is a refused declaration: a configuration to fix,
                # waited for if it is a queue of the other type (an operator may delete it).
                if not self._consuming and not self._told_mismatch(error):
                    raise
                if self._consuming:
                    log.warning(
                        "broker closed the channel, reconnecting", extra={"error": describe_error(error)}
                    )
            finally:
                self._batch.clear()  # unacked messages went back to the queue with the connection
                self._board.disconnected()
                self._close_connection()
            if self._consuming:
                backoff.reset()  # the connection served: this is a new outage
                self._addresses.lost()  # try the next address first: this one's node may be gone
            if not self._stopping:
                self._pause(backoff.next_delay())
        log.info("archive worker stopped")

    def _told_mismatch(self, error: AMQPChannelError) -> bool:
        """Whether `error` is an existing queue refusing the configured arguments (logged once)."""
        if not isinstance(error, ChannelClosedByBroker):
            return False
        mismatch = queue_mismatch(error.reply_code, error.reply_text)
        if mismatch is None:
            return False
        if mismatch.sentence() != self._mismatch_told:
            self._mismatch_told = mismatch.sentence()
            log.error("broker refused the archive's queues: %s", mismatch.sentence())
        return True

    def _pause(self, seconds: float) -> None:
        """Wait without a connection, waking early for a stop request."""
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def _serve_one_connection(self) -> None:
        """Open a connection, declare the topology and consume until stopped or disconnected."""
        self._connection, url, _parameters, _failures = connect_blocking(
            self.settings, "monty archive worker", self._addresses
        )
        channel = self._connection.channel()
        self.topology.declare(channel)
        self._mismatch_told = None
        self._dead_letters = DeadLetters(self._connection, self.topology.dead_letter_exchange)
        channel.basic_qos(prefetch_count=self.settings.archive_prefetch)
        self._consuming = True
        self._board.consuming()
        log.info(
            "archive worker consuming",
            extra={"queue": self.topology.queue, "broker": redact_url(url)},
        )
        for method, properties, body in channel.consume(self.topology.queue, inactivity_timeout=POLL_SECONDS):
            if method is not None:
                self._receive(channel, method, properties, body)  # the message in hand, even when stopping
            if self._stopping:
                break
            if self._batch_due():
                self._commit_and_ack(channel, give_up=lambda: self._stopping)
        # Stopping: commit what was received (one attempt), then give back what was delivered but not
        # received (the prefetched messages); the connection then closes.
        if self._batch.records:
            self._commit_and_ack(channel, give_up=lambda: True)
        channel.cancel()

    def _receive(self, channel: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
        """Add a message to the batch, or dead-letter it, with the reason, when it can never be stored."""
        try:
            record = record_of(
                method, properties, body, datetime.now(UTC), self._stamp, self.settings.json_max_depth
            )
        except PoisonMessage as error:
            reason = str(error)
        except Exception as error:
            # A message no rule foresaw: redelivering it would fail again and stall the archive.
            log.exception("unreadable message")
            reason = f"the archive cannot read it ({type(error).__name__})"
        else:
            self._batch.add(record, method.delivery_tag)
            self._board.received(record.published_at)
            return
        assert self._dead_letters is not None  # opened with the connection, before consuming
        self._dead_letters.give_up(channel, method, properties, body, reason)

    def _batch_due(self) -> bool:
        """Whether the batch should be committed now: full, or its first message waited long enough."""
        if not self._batch.records:
            return False
        full = len(self._batch.records) >= self.settings.archive_prefetch
        return full or time.monotonic() - self._batch.started >= self.settings.archive_flush_seconds

    def _commit_and_ack(self, channel: BlockingChannel, give_up: Callable[[], bool]) -> None:
        """Commit the batch, retrying with capped backoff while the database fails; then ack it."""
        backoff = Backoff()
        failed = False
        while True:
            try:
                with self._sessions.begin() as session:
                    store_records(session, self._batch.records)
                break
            except SQLAlchemyError as error:
                if not failed:
                    log.warning(
                        "database unavailable, holding messages unacked",
                        extra={"error": type(error).__name__, "messages": len(self._batch.records)},
                    )
                failed = True
                if give_up():
                    return  # left unacked: the broker requeues them when the connection closes
                if not channel.is_open:
                    # The broker closed the channel meanwhile (its consumer timeout) and requeued
                    # the batch: stop holding it, and start over on a new channel.
                    raise ChannelWrongStateError(
                        "the broker closed the channel while the batch waited"
                    ) from None
                # Sleeping on the connection keeps answering heartbeats.
                channel.connection.sleep(backoff.next_delay())
        self._board.stored(len(self._batch.records))
        if failed:
            log.info("database available again", extra={"messages": len(self._batch.records)})
        channel.basic_ack(self._batch.last_tag, multiple=True)
        self._batch.clear()

    def _close_connection(self) -> None:
        """Close the connection if it is open."""
        connection, self._connection = self._connection, None
        if connection is not None and connection.is_open:
            with suppress(AMQPConnectionError, AMQPChannelError):
                connection.close()
