"""Which X-Request-Id and traceparent values a request carries on."""

import pytest

from monty_common.request_ids import valid_traceparent

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.mark.parametrize("value", [f"00-{TRACE}-{PARENT}-01", f"00-{TRACE}-{PARENT}-00"])
def test_a_w3c_traceparent_is_kept(value: str) -> None:
    """Version 00 with a trace id, a parent id and flags."""
    assert valid_traceparent(value) == value


@pytest.mark.parametrize(
    "value",
    [
        f"00-{'0' * 32}-{PARENT}-01",  # all-zero trace id: invalid (W3C Trace Context 3.2.2.3)
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id: invalid (3.2.2.4)
        f"01-{TRACE}-{PARENT}-01",
        f"00-{TRACE.upper()}-{PARENT}-01",
        f"00-{TRACE}-{PARENT}-01-extra",
        "00-not-a-trace-01",
        None,
        7,
    ],
)
def test_other_values_are_dropped(value: object) -> None:
    """Anything else is not carried on."""
    assert valid_traceparent(value) is None
