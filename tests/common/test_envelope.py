"""The message envelope (pure logic): what the gateway stamps, and how any message's metadata is read."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monty_common.envelope import FALLBACK_MEDIA_TYPE, TEXT_MAX, USER_HEADERS, Envelope, stamp, text_value
from monty_common.user_headers import MAX_HEADERS, MAX_TOTAL_LENGTH, name_fault, value_fault


@dataclass
class Properties:
    """Message properties as another AMQP client might set them."""

    content_type: str | None = None
    message_id: str | None = None
    timestamp: int | None = None
    headers: dict[str, Any] | None = field(default_factory=dict)


def test_what_the_gateway_stamps_reads_back_whole() -> None:
    """A stamped message's envelope gives back its id, time to the millisecond, producer and type."""
    moment = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)
    properties = stamp("user-1", "paula", moment)
    envelope = Envelope.read(properties)
    assert envelope.message_id == properties.message_id
    assert envelope.published_at == moment.replace(microsecond=123000)
    assert (envelope.producer, envelope.producer_name) == ("user-1", "paula")
    assert envelope.is_json
    assert envelope.headers == {}
    assert properties.delivery_mode == 2


def test_the_clients_headers_are_stamped_in_one_table_and_read_back() -> None:
    """A client's headers live in user_headers, apart from the gateway's own (even one named alike)."""
    properties = stamp("user-1", "paula", datetime.now(UTC), user_headers={"producer": "me", "trace": "t 1"})
    assert properties.headers[USER_HEADERS] == {"producer": "me", "trace": "t 1"}
    assert properties.headers["producer"] == "user-1"
    envelope = Envelope.read(properties)
    assert envelope.headers == {"producer": "me", "trace": "t 1"}
    assert envelope.producer == "user-1"


def test_a_foreign_user_headers_table_is_read_tolerantly() -> None:
    """Entries another AMQP client set that break the rules are dropped, the rest kept."""
    table = {"ok": "yes", "x-death": "reserved", "UPPER": "no", "n": 7, "b": b"ascii"}
    assert Envelope.read(Properties(headers={USER_HEADERS: table})).headers == {"b": "ascii", "ok": "yes"}
    assert Envelope.read(Properties(headers={USER_HEADERS: "not a table"})).headers == {}


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("Zo\u00eb", "Zo\u00eb"),
        ("Zo\u00eb".encode(), "Zo\u00eb"),
        (b"\xff\xfe not UTF-8", None),
        ("", None),
        ("x" * (TEXT_MAX + 1), None),
        (42, None),
        (None, None),
    ],
)
def test_text_values_are_read_the_same_whatever_their_form(value: object, read: str | None) -> None:
    """Strings and UTF-8 bytes are text; anything else, or too long, is unusable (None)."""
    assert text_value(value) == read


def test_a_foreign_producer_reads_as_text_not_as_replacement_characters() -> None:
    """Non-ASCII producers are kept as text; bytes that are not UTF-8 are dropped, not mangled."""
    envelope = Envelope.read(Properties(headers={"producer": b"\xff\xfe", "producer_name": "Zo\u00eb"}))
    assert envelope.producer is None
    assert envelope.producer_name == "Zo\u00eb"


@pytest.mark.parametrize(
    ("header", "timestamp", "expected"),
    [
        ("2026-11-30T12:00:00.500+00:00", None, datetime(2026, 11, 30, 12, 0, 0, 500000, tzinfo=UTC)),
        ("2026-11-30T14:00:00+02:00", None, datetime(2026, 11, 30, 12, tzinfo=UTC)),
        ("2026-11-30T12:00:00", None, datetime(2026, 11, 30, 12, tzinfo=UTC)),
        ("caf\u00e9 \u20ac", 1_700_000_000, datetime.fromtimestamp(1_700_000_000, UTC)),
        (None, 1_700_000_000, datetime.fromtimestamp(1_700_000_000, UTC)),
        ("not a time", 2**62, None),
        (None, None, None),
    ],
)
def test_published_at_comes_from_the_header_else_the_timestamp(
    header: str | None, timestamp: int | None, expected: datetime | None
) -> None:
    """ISO 8601 header (naive means UTC, offsets converted), else the AMQP timestamp, else unknown."""
    headers = {} if header is None else {"published_at": header}
    envelope = Envelope.read(Properties(timestamp=timestamp, headers=headers))
    assert envelope.published_at == expected
    if expected is not None:
        assert envelope.published_at is not None
        assert envelope.published_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("content_type", "read"),
    [
        ("application/json", "application/json"),
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("application/json\r\nX-Injected: 1", FALLBACK_MEDIA_TYPE),
        ("no media type", FALLBACK_MEDIA_TYPE),
        (None, FALLBACK_MEDIA_TYPE),
    ],
)
def test_only_a_well_formed_media_type_is_kept(content_type: str | None, read: str) -> None:
    """A media type that could break an answer's headers is replaced by application/octet-stream."""
    assert Envelope.read(Properties(content_type=content_type, headers=None)).content_type == read


def test_another_time_zone_is_not_taken_for_utc() -> None:
    """A stamped time in another zone reads as the same instant."""
    moment = datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=9)))
    envelope = Envelope.read(stamp("u", "n", moment))
    assert envelope.published_at == moment


_ANY_VALUE = st.one_of(
    st.none(),
    st.text(max_size=300),
    st.binary(max_size=300),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
)
# What another client may put in user_headers: names good and bad, values of every kind, too many.
_ANY_TABLE = st.dictionaries(
    st.one_of(st.from_regex(r"[a-z0-9][a-z0-9-]{0,70}", fullmatch=True), st.text(max_size=70)),
    st.one_of(
        _ANY_VALUE, st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300)
    ),
    max_size=40,
)
_TIME_TEXT = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-13-01T00:00:00"]),
)


@settings(max_examples=400, deadline=None)
@given(
    content_type=_ANY_VALUE,
    message_id=_ANY_VALUE,
    timestamp=_ANY_VALUE,
    headers=st.one_of(
        _ANY_VALUE,
        st.dictionaries(
            st.sampled_from(["published_at", "producer", "producer_name", "other", USER_HEADERS]),
            st.one_of(_ANY_VALUE, _TIME_TEXT, _ANY_TABLE),
        ),
    ),
)
def test_any_properties_read_without_error_into_safe_values(
    content_type: Any, message_id: Any, timestamp: Any, headers: Any
) -> None:
    """Whatever another AMQP client sets, reading its envelope never raises, text values hold no
    control characters, the media type no line break, a time is a UTC instant, and the client's
    headers keep every rule a publish through the gateway keeps."""
    envelope = Envelope.read(Properties(content_type, message_id, timestamp, headers))
    for text in (envelope.message_id, envelope.producer, envelope.producer_name):
        assert text is None or 0 < len(text) <= TEXT_MAX
        assert text is None or not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in text)
    assert "\r" not in envelope.content_type
    assert "\n" not in envelope.content_type
    assert envelope.content_type.isascii()
    assert envelope.published_at is None or envelope.published_at.utcoffset() == timedelta(0)
    assert len(envelope.headers) <= MAX_HEADERS
    assert sum(len(name) + len(value) for name, value in envelope.headers.items()) <= MAX_TOTAL_LENGTH
    for name, value in envelope.headers.items():
        assert name_fault(name) is None
        assert value_fault(value) is None
