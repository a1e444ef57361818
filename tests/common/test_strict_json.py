"""The one strict JSON reader: nesting depth, duplicate keys and non-JSON constants are refused."""

import pytest

from monty_common.problems import ProblemError
from monty_common.strict_json import exact_loads, is_json, loads


def refusal(raw: bytes, max_depth: int = 64) -> ProblemError:
    """The problem `loads` raises for `raw`."""
    with pytest.raises(ProblemError) as raised:
        loads(raw, max_depth)
    assert raised.value.status == 400
    assert raised.value.slug == "invalid-json"
    return raised.value


def pointers(problem: ProblemError) -> list[str]:
    """The JSON Pointers the problem names."""
    return [param["name"] for param in problem.extensions.get("invalid_params", [])]


def test_nesting_up_to_the_depth_is_read() -> None:
    """Exactly max_depth levels are fine; brackets inside strings are text, not nesting."""
    value = loads(b"[" * 64 + b"]" * 64, 64)
    for _level in range(63):
        value = value[0]
    assert value == []
    assert loads(b'{"a": "[[[[[[[[", "b": "\\"{{{{"}', 2) == {"a": "[[[[[[[[", "b": '"{{{{'}


@pytest.mark.parametrize(
    ("raw", "depth", "pointer"),
    [
        (b"[" * 65 + b"]" * 65, 64, "/0" * 64),
        (b"[" * 3000, 64, "/0" * 64),
        (b'{"a": [{"b": {"c": [1]}}]}', 3, "/a/0/b"),
        (b'[[], {"x": {}}, [[[[]]]]]', 3, "/2/0/0"),
    ],
    ids=["one-too-deep", "3000-open", "objects", "after-siblings"],
)
def test_deeper_nesting_is_400_naming_where(raw: bytes, depth: int, pointer: str) -> None:
    """Deeper than allowed is refused, pointing at the first container past the limit."""
    problem = refusal(raw, depth)
    assert "nested too deeply" in problem.detail
    assert pointers(problem) == [pointer]


@pytest.mark.parametrize(
    ("raw", "pointer"),
    [
        (b'{"qty": -5, "qty": 1}', "/qty"),
        (b'{"items": [{"sku": "a"}, {"sku": "b", "n": 1, "sku": "c"}]}', "/items/1/sku"),
        (b'{"a/b": {"~": 1, "~": 2}}', "/a~1b/~0"),
        (b'{"\\u0061": 1, "a": 2}', "/a"),
    ],
    ids=["top", "nested", "escaped-pointer", "same-key-escaped"],
)
def test_duplicate_keys_are_400_naming_the_key(raw: bytes, pointer: str) -> None:
    """A key given twice, however it is spelled, is refused with its JSON Pointer."""
    problem = refusal(raw)
    assert "key twice" in problem.detail
    assert pointers(problem) == [pointer]


@pytest.mark.parametrize("raw", [b"[NaN]", b'{"x": -Infinity}', b'{"a": 1', b'"\xff"'])
def test_what_is_not_json_is_400(raw: bytes) -> None:
    """Constants Python's parser takes, syntax errors and bytes that are not UTF-8 are refused."""
    refusal(raw)


def test_is_json_uses_the_same_rules() -> None:
    """What the services read back (a batch consume, the archive) is held to the same rules."""
    assert is_json('{"a": [1, {"b": 2}], "c": 1e999999999}')
    assert not is_json('{"qty": -5, "qty": 1}')
    assert not is_json("[" * 65 + "]" * 65)


def test_exact_numbers_keep_their_value() -> None:
    """For a schema, numbers are exact: huge integers and exponents are not rounded or refused here."""
    value = exact_loads(b"[1e999999999, 0.1, " + b"9" * 5000 + b"]", 64)
    assert str(value[0]) == "1E+999999999"
    assert str(value[1]) == "0.1"
    assert str(value[2]) == "9" * 5000
