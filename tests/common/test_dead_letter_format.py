"""The dead-letter format (pure logic): what a dead letter carries, how any message's is read, and
what a redrive takes off."""

from datetime import UTC, datetime, timedelta

import pika
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monty_common.dead_letters import (
    LAST_ERROR_MAX,
    DeadLetterInfo,
    dead_letter_properties,
    redrive_properties,
)
from monty_common.envelope import (
    DEAD_LETTER_REASON,
    DEAD_LETTERED_AT,
    DELIVERIES,
    LAST_ERROR,
    SOURCE_QUEUE,
    stamp,
)
from monty_common.producer_stamp import ProducerStamp

DEAD_LETTER_HEADERS = {DEAD_LETTER_REASON, LAST_ERROR, SOURCE_QUEUE, DEAD_LETTERED_AT, DELIVERIES}


def original() -> pika.BasicProperties:
    """A message as the gateway publishes it, its producer signed, with every other property set too."""
    properties = stamp("user-1", "paula", datetime(2026, 12, 1, 9, 30, tzinfo=UTC), "message-1")
    ProducerStamp("secret").sign(properties, b'{"n": 1}')
    properties.headers["custom"] = "kept"
    properties.correlation_id = "corr-1"
    properties.reply_to = "replies"
    properties.type = "order"
    properties.priority = 3
    properties.content_encoding = "identity"
    properties.user_id = "guest"
    properties.expiration = "60000"
    return properties


def test_a_dead_letter_keeps_everything_and_says_why_where_from_when_and_how_often() -> None:
    """Every property and header stays (the producer signature still holds); the five are added."""
    before = datetime.now(UTC)
    copy = dead_letter_properties(
        original(), "max-deliveries", source_queue="orders", last_error="timeout", deliveries=5
    )
    after = datetime.now(UTC)
    source = original()
    for name in ("content_type", "content_encoding", "priority", "correlation_id", "reply_to"):
        assert getattr(copy, name) == getattr(source, name)
    for name in ("message_id", "timestamp", "type", "app_id"):
        assert getattr(copy, name) == getattr(source, name)
    assert copy.delivery_mode == 2
    assert {k: v for k, v in copy.headers.items() if k not in DEAD_LETTER_HEADERS} == source.headers
    assert ProducerStamp("secret").verified(copy, b'{"n": 1}')
    assert copy.headers[DEAD_LETTER_REASON] == "max-deliveries"
    assert copy.headers[SOURCE_QUEUE] == "orders"
    assert copy.headers[LAST_ERROR] == "timeout"
    assert copy.headers[DELIVERIES] == 5
    stamped = copy.headers[DEAD_LETTERED_AT]
    assert stamped == datetime.fromisoformat(stamped).isoformat(timespec="milliseconds")
    assert before - timedelta(milliseconds=1) <= datetime.fromisoformat(stamped) <= after
    # The broker refuses a publisher naming another login; a dead letter waits for someone to read it.
    assert copy.user_id is None
    assert copy.expiration is None


def test_the_reason_alone_still_makes_a_dead_letter() -> None:
    """With only a reason (as the archive gives it), the other headers the message had are kept."""
    source = original()
    source.headers[LAST_ERROR] = "carried from the last release"
    source.headers[DELIVERIES] = 3
    copy = dead_letter_properties(source, "not-json")
    assert copy.headers[DEAD_LETTER_REASON] == "not-json"
    assert copy.headers[LAST_ERROR] == "carried from the last release"
    assert copy.headers[DELIVERIES] == 3
    assert SOURCE_QUEUE not in copy.headers
    assert DEAD_LETTERED_AT in copy.headers


def test_a_long_error_is_cut_and_a_message_without_headers_gets_them() -> None:
    """The last error is kept to LAST_ERROR_MAX characters; headers are made when there were none."""
    copy = dead_letter_properties(pika.BasicProperties(), "max-deliveries", last_error="e" * 5000)
    assert copy.headers[LAST_ERROR] == "e" * LAST_ERROR_MAX
    assert LAST_ERROR_MAX == 1000


def test_what_is_written_reads_back() -> None:
    """The reader gives back what the writer put, the time to the millisecond."""
    before = datetime.now(UTC)
    copy = dead_letter_properties(
        original(), "max-deliveries", source_queue="orders", last_error="bad\nline two", deliveries=5
    )
    info = DeadLetterInfo.read(copy.headers)
    assert (info.reason, info.source_queue, info.last_error, info.delivery_count) == (
        "max-deliveries",
        "orders",
        "bad\nline two",
        5,
    )
    assert info.dead_lettered_at is not None
    assert info.dead_lettered_at.tzinfo is not None
    assert abs(info.dead_lettered_at - before) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {},
        "not a mapping",
        {
            DEAD_LETTER_REASON: 42,
            LAST_ERROR: b"\xff not UTF-8",
            SOURCE_QUEUE: "",
            DEAD_LETTERED_AT: "yesterday",
            DELIVERIES: "five",
        },
        {DEAD_LETTERED_AT: "9999-12-31T23:59:59-23:59", DELIVERIES: True, LAST_ERROR: "x" * 1001},
        {DELIVERIES: -1, LAST_ERROR: "nul \x00 inside", SOURCE_QUEUE: "q" * 256},
    ],
)
def test_anything_else_reads_as_unknown_never_as_an_error(headers: object) -> None:
    """Missing or unusable values are None."""
    assert DeadLetterInfo.read(headers) == DeadLetterInfo(None, None, None, None, None)


def test_values_other_clients_write_differently_are_still_read() -> None:
    """UTF-8 bytes are text; a time without a zone is UTC."""
    info = DeadLetterInfo.read(
        {
            DEAD_LETTER_REASON: b"rejected",
            DEAD_LETTERED_AT: "2026-12-01T10:00:00",
            DELIVERIES: 0,
        }
    )
    assert info.reason == "rejected"
    assert info.dead_lettered_at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert info.delivery_count == 0


@given(st.dictionaries(st.sampled_from(sorted(DEAD_LETTER_HEADERS)), st.from_type(object)))
def test_the_reader_never_raises(headers: dict[str, object]) -> None:
    """Whatever the headers hold."""
    DeadLetterInfo.read(headers)


def test_a_redriven_copy_is_the_original_again() -> None:
    """Redriving takes the five dead-letter headers off (its delivery count starts afresh) and keeps
    everything else, so the producer signature still holds."""
    source = original()
    dead = dead_letter_properties(source, "max-deliveries", source_queue="q", last_error="e", deliveries=5)
    again = redrive_properties(dead)
    assert again.headers == source.headers
    assert ProducerStamp("secret").verified(again, b'{"n": 1}')
    for name in ("message_id", "timestamp", "content_type", "correlation_id", "type", "priority"):
        assert getattr(again, name) == getattr(source, name)
    assert again.delivery_mode == 2
    assert again.user_id is None
    assert redrive_properties(pika.BasicProperties()).headers == {}
