"""The dead letters of the gateway's queues: listed and looked up without removing them, and redriven.

Reading goes through browses (monty_common/broker/browser.py): a short-lived connection per admin
call, holding what it reads unacked and giving it all back at the end. A redrive publishes copies
through the gateway's confirmed publisher and acks a dead letter only once its copy is confirmed,
so a failure at any point leaves every dead letter either put back or still there (at worst both:
a duplicate, never a loss).
"""

from dataclasses import dataclass, field

from monty_common.broker import BrokerUnavailable, ConfirmedPublisher, Delivery, PublishRejected, Route
from monty_common.broker.browser import Browse, BrowsedMessage, QueueBrowser
from monty_common.broker.topology import dead_letter_queue_of
from monty_common.dead_letters import DeadLetterInfo, redrive_properties
from monty_common.envelope import text_value

# Most dead letters republished together (their confirms awaited together), and about the most
# bytes of their bodies held at once.
REDRIVE_CHUNK = 100
REDRIVE_CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class DeadLetter:
    """A message in a dead-letter queue, and what its headers say of why it is there."""

    delivery: Delivery
    info: DeadLetterInfo

    @classmethod
    def of(cls, message: BrowsedMessage) -> "DeadLetter":
        """A browsed message as a dead letter."""
        return cls(message.delivery(), DeadLetterInfo.read(message.properties.headers))


@dataclass(frozen=True)
class DeadLetterPage:
    """The oldest dead letters of a queue, and how many it held."""

    dead_letters: list[DeadLetter]
    total: int
    # The page stopped before its limit because its bodies passed the byte budget.
    byte_limited: bool


@dataclass
class Redrive:
    """What a redrive put back: each dead letter's message_id (None for one without), in order."""

    redriven: list[str | None] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


class RedriveFailed(Exception):
    """The broker failed midway: `done` says what was put back before, `error` why the rest was not."""

    def __init__(self, done: Redrive, error: BrokerUnavailable | PublishRejected) -> None:
        """What was done, and the failure that stopped the rest."""
        super().__init__(str(error))
        self.done = done
        self.error = error


class DeadLetters:
    """Reads the dead-letter queues of the gateway's queues and puts their messages back."""

    def __init__(self, browser: QueueBrowser, publisher: ConfirmedPublisher, scan_limit: int) -> None:
        """Browse with `browser`, republish with `publisher`, look through `scan_limit` at most."""
        self.browser = browser
        self.publisher = publisher
        self.scan_limit = scan_limit

    def close(self) -> None:
        """Start no more browses."""
        self.browser.close()

    def peek(self, queue: str, limit: int, max_bytes: int) -> DeadLetterPage:
        """Up to `limit` of `queue`'s oldest dead letters (fewer once their bodies pass `max_bytes`),
        left in place."""
        letters: list[DeadLetter] = []
        size = 0
        with self.browser.browse(dead_letter_queue_of(queue)) as browse:
            while len(letters) < limit and size < max_bytes and (message := browse.next()) is not None:
                letters.append(DeadLetter.of(message))
                size += len(message.body)
            return DeadLetterPage(letters, browse.total, size >= max_bytes)

    def find(self, queue: str, message_id: str) -> DeadLetter | None:
        """The oldest of `queue`'s dead letters with `message_id` among the first `scan_limit`, left in
        place; None if there is none."""
        with self.browser.browse(dead_letter_queue_of(queue)) as browse:
            for _scanned in range(self.scan_limit):
                message = browse.next()
                if message is None:
                    return None
                if text_value(message.properties.message_id) == message_id:
                    return DeadLetter.of(message)
        return None

    def redrive(self, queue: str, message_ids: list[str] | None) -> Redrive:
        """Put `queue`'s dead letters back in `queue`: the oldest with each of `message_ids`, or all
        (up to `scan_limit`) when None. Each copy is confirmed before its dead letter is removed.

        Ids of no dead letter among the first `scan_limit` are not_found. Raises RedriveFailed when
        the broker fails midway (BrokerUnavailable if it could not be reached at all).
        """
        wanted = None if message_ids is None else dict.fromkeys(message_ids)
        done = Redrive()
        try:
            self._redrive(queue, wanted, done)
        except BrokerUnavailable as error:
            if not done.redriven:
                raise
            # Reading failed after some went back: they must still be named (and audited).
            raise RedriveFailed(done, error) from error
        done.not_found = list(wanted or [])
        return done

    def _redrive(self, queue: str, wanted: dict[str, None] | None, done: Redrive) -> None:
        """Put back the dead letters `wanted` names (all when None; found ones are taken out of it)."""
        chunk: list[BrowsedMessage] = []
        chunk_bytes = 0
        with self.browser.browse(dead_letter_queue_of(queue)) as browse:
            for _scanned in range(self.scan_limit):
                if wanted is not None and not wanted:
                    break
                message = browse.next()
                if message is None:
                    break
                if wanted is not None:
                    message_id = text_value(message.properties.message_id)
                    if message_id not in wanted:
                        continue  # held until the browse ends, then given back in place
                    del wanted[message_id]
                chunk.append(message)
                chunk_bytes += len(message.body)
                if len(chunk) >= REDRIVE_CHUNK or chunk_bytes >= REDRIVE_CHUNK_BYTES:
                    self._put_back(browse, queue, chunk, done)
                    chunk, chunk_bytes = [], 0
            if chunk:
                self._put_back(browse, queue, chunk, done)

    def _put_back(self, browse: Browse, queue: str, chunk: list[BrowsedMessage], done: Redrive) -> None:
        """Republish `chunk` to `queue`, then remove each dead letter whose copy the broker confirmed."""
        messages = [(message.body, redrive_properties(message.properties)) for message in chunk]
        try:
            outcomes = self.publisher.publish_many(messages, route=Route.to_queue(queue))
        except BrokerUnavailable as error:  # nothing was sent
            raise RedriveFailed(done, error) from error
        browse.keep_alive()
        failure: BrokerUnavailable | PublishRejected | None = None
        for message, outcome in zip(chunk, outcomes, strict=True):
            if outcome is None:
                try:
                    browse.ack(message)
                except BrokerUnavailable as error:  # the copy is queued and the dead letter stays
                    raise RedriveFailed(done, error) from error
                done.redriven.append(text_value(message.properties.message_id))
            elif failure is None:
                failure = (
                    outcome
                    if isinstance(outcome, BrokerUnavailable | PublishRejected)
                    else BrokerUnavailable(str(outcome))
                )
        if failure is not None:
            raise RedriveFailed(done, failure)
