"""Counting what a fault test sent, what the gateways acknowledged, and what the broker still holds."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Tally:
    """What a fault run sent, acknowledged (2xx), found by consuming, lost and duplicated."""

    sent: int
    answered: int
    found: int
    lost: int
    duplicated: int

    def line(self, label: str) -> str:
        """The one line a fault test prints."""
        return (
            f"{label}: sent {self.sent} / answered 2xx {self.answered} / found {self.found} / "
            f"lost {self.lost} / duplicated {self.duplicated}"
        )


def tally(label: str, sent: int, answered_ids: Iterable[str], found_ids: Iterable[str]) -> Tally:
    """Count a run (lost: acknowledged but not found; duplicated: found more than once) and print its line."""
    answered = set(answered_ids)
    found = Counter(found_ids)
    result = Tally(
        sent=sent,
        answered=len(answered),
        found=sum(found.values()),
        lost=len(answered - set(found)),
        duplicated=sum(count - 1 for count in found.values() if count > 1),
    )
    print(result.line(label), flush=True)
    return result
