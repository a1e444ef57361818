"""Which published messages the broker has confirmed: bookkeeping by delivery tag, in publishing order."""

from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass

from monty_common.broker.errors import OutcomeUnknown, PublishRejected
from monty_common.broker.jobs import fail, settle


@dataclass(slots=True)
class _Sent:
    """A message awaiting its confirm."""

    future: "Future[None]"
    message_id: str | None
    body: bytes
    returned: bool = False
    # A return matched this message and an identical one in flight: which of them came back is unknown.
    maybe_returned: bool = False


class ConfirmTracker:
    """The messages a confirm-mode channel has sent and the broker has not confirmed yet.

    The channel numbers its messages 1, 2, 3...; an ack or nack names one delivery tag, or with
    `multiple` every tag up to it. Entries are kept in tag order, so settling costs only what the
    confirm covers.

    An unroutable mandatory message comes back (basic.return) before any confirm of its own tag
    or a later one, and returns come in publishing order; but confirms of earlier tags may come
    after it. So a return names the first message, above both the last returned tag and the
    highest confirmed one, whose message_id and body are the returned message's. Should identical
    messages both fit, nobody can tell which came back: each is reported as an unknown outcome.
    """

    def __init__(self) -> None:
        """A new channel: nothing sent yet."""
        self._last_tag = 0
        self._unconfirmed: OrderedDict[int, _Sent] = OrderedDict()
        self._confirmed_up_to = 0  # the highest tag any confirm named
        self._returned_up_to = 0  # the tag the last return was matched to

    def __len__(self) -> int:
        """Messages awaiting their confirm."""
        return len(self._unconfirmed)

    def sent(self, future: "Future[None]", message_id: str | None, body: bytes) -> int:
        """Remember a message just published; return its delivery tag."""
        self._last_tag += 1
        self._unconfirmed[self._last_tag] = _Sent(future, message_id, body)
        return self._last_tag

    def returned(self, message_id: str | None, body: bytes) -> None:
        """The broker returned a message as unroutable: mark the one it was."""
        floor = max(self._confirmed_up_to, self._returned_up_to)
        matches: list[tuple[int, _Sent]] = []
        for tag in reversed(self._unconfirmed):  # newest first, down to the floor: what may match
            if tag <= floor:
                break
            entry = self._unconfirmed[tag]
            if entry.message_id == message_id and entry.body == body and not entry.returned:
                matches.append((tag, entry))
        if not matches:
            return  # not one of ours (cannot happen on a channel of our own)
        first_tag, first = matches[-1]
        self._returned_up_to = first_tag
        if len(matches) == 1:
            first.returned = True
        else:
            for _tag, entry in matches:
                entry.maybe_returned = True

    def confirmed(self, tag: int, multiple: bool, acked: bool) -> None:
        """Settle what a confirm covers: nacked and returned messages fail, the others succeed."""
        self._confirmed_up_to = max(self._confirmed_up_to, tag)
        if not multiple:
            entry = self._unconfirmed.pop(tag, None)
            if entry is not None:
                _settle(entry, acked)
            return
        while self._unconfirmed:
            first = next(iter(self._unconfirmed))
            if first > tag:
                break
            _settle(self._unconfirmed.pop(first), acked)

    def lost(self, reason: str) -> None:
        """The channel is gone before these confirms came: each message may or may not be stored."""
        for entry in self._unconfirmed.values():
            fail(
                entry.future,
                OutcomeUnknown(f"{reason} before the broker confirmed the message", entry.message_id),
            )
        self._unconfirmed.clear()


def _settle(entry: _Sent, acked: bool) -> None:
    """Settle one message's future."""
    if not acked:
        fail(entry.future, PublishRejected("nacked"))
    elif entry.returned:
        fail(entry.future, PublishRejected("unroutable"))
    elif entry.maybe_returned:
        reason = "an identical message in flight was returned unroutable; this one may be it"
        fail(entry.future, OutcomeUnknown(reason, entry.message_id))
    else:
        settle(entry.future, None)
