"""How many requests of one server process may wait for messages at once (long polling)."""

import threading
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app

from monty_common.problems import ProblemError

KEY = "monty.wait_slots"
# Seconds a refused waiter is told to wait before asking again.
RETRY_AFTER = 1

T = TypeVar("T")


def init_wait_slots(app: Flask, threads: int) -> None:
    """Let at most half the process's request threads wait, so waiting consumers never starve publishers."""
    app.extensions[KEY] = threading.BoundedSemaphore(max(1, threads // 2))


def take_waiting(take: Callable[[float], list[T]], wait: int) -> list[T]:
    """`take(wait)` in a waiting slot; with none free, take what is there now, or 429 if that is nothing."""
    if wait <= 0:
        return take(0.0)
    slots: threading.BoundedSemaphore = current_app.extensions[KEY]
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
            {"Retry-After": str(RETRY_AFTER)},
        )
    try:
        return take(float(wait))
    finally:
        slots.release()
