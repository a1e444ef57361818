"""How many requests of one server process may wait for messages at once (long polling)."""

import select
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from exchange_service.extensions import wait_slots
from monty_common.metrics import instruments
from monty_common.problems import ProblemError
from monty_common.service_app import current_settings
from monty_common.settings import ServiceSettings

T = TypeVar("T")


def client_still_there(environ: Mapping[str, Any]) -> Callable[[], bool] | None:
    """A check that the request's client is still connected, or None when the server gives no socket.

    It polls the socket without reading it: a client that has closed its end (POLLRDHUP, or a hang-up
    or error) is gone. Safe from any thread while the request runs.
    """
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return None
    fileno = sock.fileno()
    gone = select.POLLRDHUP | select.POLLHUP | select.POLLERR | select.POLLNVAL

    def still_there() -> bool:
        poller = select.poll()
        poller.register(fileno, select.POLLIN | select.POLLRDHUP)
        return not any(events & gone for _fd, events in poller.poll(0))

    return still_there


def new_wait_slots(threads: int) -> threading.BoundedSemaphore:
    """Let at most half the process's request threads wait, so waiting consumers never starve publishers."""
    return threading.BoundedSemaphore(max(1, threads // 2))


def take_waiting(take: Callable[[float], list[T]], wait: int) -> list[T]:
    """`take(wait)` in a waiting slot; with none free, take what is there now, or 429 if that is nothing."""
    if wait <= 0:
        return take(0.0)
    slots = wait_slots.get()
    if not slots.acquire(blocking=False):
        taken = take(0.0)
        if taken:
            return taken
        raise ProblemError(
            429,
            "too-many-waiting",
            "Too Many Waiting Requests",
            "The queue is empty and this server already holds as many waiting requests as it lets wait; "
            "ask again after Retry-After seconds.",
            {"Retry-After": str(current_settings(ServiceSettings).retry_after)},
        )
    try:
        with instruments().long_polls_waiting.track_inprogress():
            return take(float(wait))
    finally:
        slots.release()
