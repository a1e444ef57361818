"""How many requests of one server process may wait for messages at once (long polling)."""

import threading
from collections.abc import Callable
from typing import TypeVar

from exchange_service.extensions import wait_slots
from monty_common.problems import ProblemError
from monty_common.service_app import current_settings
from monty_common.settings import ServiceSettings

T = TypeVar("T")


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
        return take(float(wait))
    finally:
        slots.release()
