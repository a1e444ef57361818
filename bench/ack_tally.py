"""What a receive+ack load saw of its acks, and the check that the queue's count agrees with it."""

import re
from dataclasses import dataclass

# The line bench/receive_ack.lua's done() prints after wrk's report.
TALLY = re.compile(r"^Receipts acked: (\d+), refused: (\d+), unanswered: (\d+)$", re.MULTILINE)


class LeakedLeases(RuntimeError):
    """The queue's count of consumed messages disagrees with the acks the load saw."""


@dataclass(frozen=True)
class AckTally:
    """Receipts the load's acks settled (200), saw refused (any other result), or never saw answered.

    unanswered receipts were in acks still on the way when wrk stopped, or in acks answered by a
    problem as a whole: the gateway may or may not have acked them.
    """

    acked: int
    refused: int
    unanswered: int

    @classmethod
    def parse(cls, output: str) -> "AckTally | None":
        """The tally in wrk's output, or None for a load that does not ack."""
        match = TALLY.search(output)
        if match is None:
            return None
        acked, refused, unanswered = (int(group) for group in match.groups())
        return cls(acked, refused, unanswered)

    def check(self, consumed: int) -> None:
        """Refuse a count of consumed messages (from the queue's depth) that the acks do not explain.

        Messages received but not acked are back in the queue once their leases ran out; a count
        above every ack that may have succeeded means some were still out, and would be counted
        as consumed though nobody acked them.
        """
        most = self.acked + self.unanswered
        if consumed > most:
            raise LeakedLeases(
                f"{consumed - most} more messages left the queue than the load acked ({self.acked} acked, "
                f"{self.unanswered} unanswered): leases it left behind have not come back"
            )
        if consumed < self.acked:
            raise LeakedLeases(f"{consumed} messages left the queue, fewer than the {self.acked} acked")
