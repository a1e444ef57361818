"""The rules for the headers clients attach to their messages, and how any table of them is read back."""

import pytest

from monty_common.user_headers import (
    MAX_HEADERS,
    MAX_TOTAL_LENGTH,
    MAX_VALUE_LENGTH,
    name_fault,
    read_user_headers,
    value_fault,
)


@pytest.mark.parametrize("name", ["a", "0", "order-id", "trace-2", "a" * 64, "a-"])
def test_names_of_letters_digits_and_hyphens_are_accepted(name: str) -> None:
    """1 to 64 lower-case letters, digits and hyphens, starting with a letter or digit."""
    assert name_fault(name) is None


@pytest.mark.parametrize("name", ["", "-a", "a" * 65, "Order", "order_id", "a.b", "caf\u00e9", "a b"])
def test_other_names_are_refused(name: str) -> None:
    """Anything else, upper case included (the gateway lower-cases HTTP names before asking)."""
    assert name_fault(name) is not None


@pytest.mark.parametrize("name", ["x-death", "x-delivery-count", "x-anything", "monty-queue", "monty-"])
def test_the_brokers_and_the_gateways_names_are_reserved(name: str) -> None:
    """x-* is the broker's (x-death, x-delivery-count), monty-* the gateway's."""
    fault = name_fault(name)
    assert fault is not None
    assert "reserved" in fault


@pytest.mark.parametrize("value", ["", "v", " spaced out ", "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./", "a" * 256])
def test_values_of_visible_ascii_and_spaces_are_accepted(value: str) -> None:
    """0 to 256 visible ASCII characters or spaces."""
    assert value_fault(value) is None


@pytest.mark.parametrize("value", ["a" * 257, "tab\there", "line\nbreak", "nul\x00", "del\x7f", "caf\u00e9"])
def test_other_values_are_refused(value: str) -> None:
    """Too long, control characters, or anything HTTP does not carry reliably."""
    assert value_fault(value) is not None


def test_a_valid_table_reads_back_whole_sorted_by_name() -> None:
    """What the gateway stores is what is read."""
    assert read_user_headers({"b": "2", "a": "", "c-d": b"bytes"}) == {"a": "", "b": "2", "c-d": "bytes"}


@pytest.mark.parametrize(
    "table",
    [None, "text", 42, ["a", "b"], {1: "a"}, {"Upper": "a"}, {"x-death": "a"}, {"a": 1}, {"a": b"\xff"}],
)
def test_anything_unusable_reads_as_no_header(table: object) -> None:
    """Another AMQP client's table, or entry, that breaks a rule is dropped, never an error."""
    assert read_user_headers(table) == {}


def test_usable_entries_are_kept_beside_unusable_ones() -> None:
    """One bad entry does not cost the others."""
    assert read_user_headers({"ok": "yes", "bad name": "no", "nested": {"a": "b"}}) == {"ok": "yes"}


def test_a_table_past_the_limits_keeps_the_first_names_that_fit() -> None:
    """At most MAX_HEADERS, and names and values together at most MAX_TOTAL_LENGTH."""
    many = {f"h{number:02d}": "v" for number in range(MAX_HEADERS + 5)}
    assert list(read_user_headers(many)) == [f"h{number:02d}" for number in range(MAX_HEADERS)]
    large = {f"h{number:02d}": "v" * (MAX_VALUE_LENGTH - 3) for number in range(MAX_HEADERS)}
    kept = read_user_headers(large)
    assert sum(len(name) + len(value) for name, value in kept.items()) <= MAX_TOTAL_LENGTH
    assert len(kept) == MAX_TOTAL_LENGTH // MAX_VALUE_LENGTH
