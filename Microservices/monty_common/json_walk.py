"""Finding where a JSON text breaks the strict rules, as a JSON Pointer: run only on refused bodies."""

import re
from json.decoder import scanstring  # type: ignore[attr-defined]

_SPACE = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null")

Path = list[str | int]


def json_pointer(path: Path) -> str:
    """`path` as an RFC 6901 JSON Pointer ("" for the root)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


class _Walk:
    """A scan of a JSON text that keeps the path to where it is, without building any value."""

    def __init__(self, text: str, max_depth: int) -> None:
        """Start at the beginning of `text`."""
        self.text = text
        self.at = 0
        self.max_depth = max_depth
        # Each open container: the keys seen so far (an object) or None (an array), and the
        # member or index being read.
        self.open: list[tuple[set[str] | None, str | int]] = []

    def skip_space(self) -> str:
        """Move past whitespace; the next character ("" at the end)."""
        match = _SPACE.match(self.text, self.at)
        self.at = match.end() if match else self.at
        return self.text[self.at : self.at + 1]

    def path(self, *last: str | int) -> Path:
        """The path to the value being read, plus `last`."""
        return [member for _keys, member in self.open] + list(last)

    def first_break(self) -> tuple[str, str] | None:
        """(pointer, reason) of the first duplicate key or too deep a value; None when there is none."""
        expect_value = True
        while True:
            char = self.skip_space()
            if expect_value:
                if char in ("{", "["):
                    if len(self.open) >= self.max_depth:
                        return json_pointer(self.path()), f"nested deeper than {self.max_depth} levels"
                    self.at += 1
                    closing = "]" if char == "[" else "}"
                    if self.skip_space() == closing:
                        self.at += 1
                        expect_value = False
                        continue
                    if char == "[":
                        self.open.append((None, 0))
                        continue
                    self.open.append((set(), ""))
                    found = self.next_key()
                    if found is not None:
                        return found
                    continue
                if char == '"':
                    _value, self.at = scanstring(self.text, self.at + 1)
                else:
                    match = _SCALAR.match(self.text, self.at)
                    if match is None:
                        return None
                    self.at = match.end()
                expect_value = False
                continue
            if not self.open:
                return None
            keys, member = self.open[-1]
            if char == ",":
                self.at += 1
                if keys is None:
                    self.open[-1] = (None, int(member) + 1)
                    expect_value = True
                    continue
                found = self.next_key()
                if found is not None:
                    return found
                expect_value = True
                continue
            if char in ("]", "}"):
                self.at += 1
                self.open.pop()
                continue
            return None

    def next_key(self) -> tuple[str, str] | None:
        """Read `"key":` of the innermost object; a key it already holds is a break."""
        keys, _member = self.open[-1]
        if self.skip_space() != '"' or keys is None:
            raise ValueError("not JSON")
        key, self.at = scanstring(self.text, self.at + 1)
        if key in keys:
            return json_pointer([*self.path()[:-1], key]), "duplicate key"
        keys.add(key)
        self.open[-1] = (keys, key)
        if self.skip_space() != ":":
            raise ValueError("not JSON")
        self.at += 1
        return None


def locate(text: str, max_depth: int) -> tuple[str, str] | None:
    """(JSON Pointer, reason) of the first duplicate key or value nested deeper than `max_depth`.

    None when there is neither, or the text stops being JSON before one is found.
    """
    try:
        return _Walk(text, max_depth).first_break()
    except ValueError:
        return None
