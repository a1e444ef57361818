"""A batch retried under its Idempotency-Key after mixed outcomes: confirmed elements are answered again,
the others published (503 ones anew, 504 ones under their first id). The broker's answers are the
test's own here, so every mix is certain; the other tests publish through the real broker."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from exchange_service.idempotency import KeyedRequest, publish_batch_once
from exchange_service.idempotency_ledger import IdempotencyLedger
from exchange_service.idempotency_sql import SqlKeyStore
from exchange_service.messaging import BatchOutcome, PublishedMessage
from exchange_service.schema import MIGRATIONS
from monty_common.broker import BrokerUnavailable, OutcomeUnknown
from monty_common.database import upgrade_schema
from monty_common.problems import ProblemError

BODIES = [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}']
KEYED = KeyedRequest("key-1", "producer-1", "/Messages", b"", (("monty-header-trace", "t"),))


class Broker:
    """Answers each publish with the outcomes it is given, in turn, and remembers what it was sent."""

    def __init__(self, *answers: list[BaseException | None]) -> None:
        """Each publish takes the next answer: None (confirmed) or an error per message."""
        self.answers = list(answers)
        self.sent: list[list[tuple[bytes, str]]] = []

    def publish(self, bodies: list[bytes], message_ids: list[str]) -> list[BatchOutcome]:
        """The next answer's outcomes for these messages."""
        self.sent.append(list(zip(bodies, message_ids, strict=True)))
        now = datetime.now(UTC)
        errors = self.answers.pop(0)
        return [
            BatchOutcome(PublishedMessage(message_id, now), error)
            for message_id, error in zip(message_ids, errors, strict=True)
        ]


def result_of(outcome: BatchOutcome) -> dict[str, Any]:
    """A result as the route makes it, shortened."""
    status = 200 if outcome.error is None else 504 if isinstance(outcome.error, OutcomeUnknown) else 503
    return {"message_id": outcome.message.message_id, "status": status}


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[IdempotencyLedger]:
    """A ledger over an SQLite store."""
    url = f"sqlite:///{tmp_path / 'idempotency.db'}"
    upgrade_schema(url, MIGRATIONS)
    ledger = IdempotencyLedger(SqlKeyStore(url), timedelta(hours=1), timedelta(seconds=15))
    yield ledger
    ledger.close()


def test_a_retry_publishes_only_what_was_not_confirmed(ledger: IdempotencyLedger) -> None:
    """200, 504 and 503 the first time: the retry replays the first, sends the second under its
    first id and the third under a new one."""
    broker = Broker([None, OutcomeUnknown("lost"), BrokerUnavailable("down")], [None, None])
    first, _ = publish_batch_once(ledger, KEYED, BODIES, broker.publish, result_of, 2)
    assert [result["status"] for result in first] == [200, 504, 503]
    retry, outcomes = publish_batch_once(ledger, KEYED, BODIES, broker.publish, result_of, 2)
    assert broker.sent[1][0] == (BODIES[1], first[1]["message_id"])
    assert broker.sent[1][1][0] == BODIES[2]
    assert broker.sent[1][1][1] != first[2]["message_id"]
    assert retry[0] == {**first[0], "replayed": True}
    assert retry[1] == {"message_id": first[1]["message_id"], "status": 200}
    assert retry[2]["status"] == 200
    assert len(outcomes) == 2
    again, _ = publish_batch_once(ledger, KEYED, BODIES, broker.publish, result_of, 2)
    assert all(result["replayed"] for result in again)
    assert len(broker.sent) == 2


def test_a_batch_nothing_of_which_was_sent_lets_every_key_go(ledger: IdempotencyLedger) -> None:
    """The broker could not take the batch at all: the retry sends every message anew."""

    def refuse(bodies: list[bytes], message_ids: list[str]) -> list[BatchOutcome]:
        raise BrokerUnavailable("not sent in time")

    with pytest.raises(BrokerUnavailable):
        publish_batch_once(ledger, KEYED, BODIES, refuse, result_of, 2)
    broker = Broker([None, None, None])
    results, _ = publish_batch_once(ledger, KEYED, BODIES, broker.publish, result_of, 2)
    assert [result["status"] for result in results] == [200, 200, 200]


def test_the_monty_headers_and_query_are_part_of_each_element(ledger: IdempotencyLedger) -> None:
    """The same elements with other Monty-* headers are another request: 409, nothing sent."""
    broker = Broker([None, None, None])
    publish_batch_once(ledger, KEYED, BODIES, broker.publish, result_of, 2)
    for other in (
        KeyedRequest("key-1", "producer-1", "/Messages", b"", (("monty-header-trace", "u"),)),
        KeyedRequest("key-1", "producer-1", "/Messages", b"delay=5", (("monty-header-trace", "t"),)),
    ):
        with pytest.raises(ProblemError) as refused:
            publish_batch_once(ledger, other, BODIES, broker.publish, result_of, 2)
        assert (refused.value.status, refused.value.slug) == (409, "idempotency-key-reused")
    assert len(broker.sent) == 1
