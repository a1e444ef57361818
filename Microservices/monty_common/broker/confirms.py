"""Which published messages the broker has confirmed: bookkeeping by delivery tag, in publishing order."""

from collections import OrderedDict
from concurrent.futures import Future

from monty_common.broker.errors import OutcomeUnknown, PublishRejected
from monty_common.broker.jobs import fail, settle


class ConfirmTracker:
    """The messages a confirm-mode channel has sent and the broker has not confirmed yet.

    The channel numbers its messages 1, 2, 3...; an ack or nack names one delivery tag, or with
    `multiple` every tag up to it. Entries are kept in tag order, so settling costs only what the
    confirm covers. RabbitMQ returns an unroutable mandatory message (basic.return) right before
    the confirm that carries that message's own tag, so a return marks the tag of the next confirm.
    """

    def __init__(self) -> None:
        """A new channel: nothing sent yet."""
        self._last_tag = 0
        self._unconfirmed: OrderedDict[int, tuple[Future[None], str | None]] = OrderedDict()
        self._return_pending = False

    def __len__(self) -> int:
        """Messages awaiting their confirm."""
        return len(self._unconfirmed)

    def sent(self, future: "Future[None]", message_id: str | None) -> int:
        """Remember a message just published; return its delivery tag."""
        self._last_tag += 1
        self._unconfirmed[self._last_tag] = (future, message_id)
        return self._last_tag

    def returned(self) -> None:
        """The broker returned a message as unroutable: the next confirm is for that message."""
        self._return_pending = True

    def confirmed(self, tag: int, multiple: bool, acked: bool) -> None:
        """Settle what a confirm covers: nacked and returned messages fail, the others succeed."""
        returned_tag = tag if self._return_pending else None
        self._return_pending = False
        if not multiple:
            entry = self._unconfirmed.pop(tag, None)
            if entry is not None:
                self._settle(entry[0], acked, tag == returned_tag)
            return
        while self._unconfirmed:
            first = next(iter(self._unconfirmed))
            if first > tag:
                break
            future, _message_id = self._unconfirmed.pop(first)
            self._settle(future, acked, first == returned_tag)

    @staticmethod
    def _settle(future: "Future[None]", acked: bool, returned: bool) -> None:
        """Settle one message's future."""
        if not acked:
            fail(future, PublishRejected("nacked"))
        elif returned:
            fail(future, PublishRejected("unroutable"))
        else:
            settle(future, None)

    def lost(self, reason: str) -> None:
        """The channel is gone before these confirms came: each message may or may not be stored."""
        for future, message_id in self._unconfirmed.values():
            fail(future, OutcomeUnknown(f"{reason} before the broker confirmed the message", message_id))
        self._unconfirmed.clear()
        self._return_pending = False
