"""What an app must release when its process stops."""

import atexit
from collections.abc import Callable

from flask import Flask

CLOSERS_KEY = "monty.closers"


def on_close(app: Flask, closer: Callable[[], None]) -> None:
    """Run `closer` when the app is closed (worker exit, interpreter exit or `close_app`)."""
    closers: list[Callable[[], None]] = app.extensions.setdefault(CLOSERS_KEY, [])
    if not closers:
        atexit.register(close_app, app)
    closers.append(closer)


def close_app(app: Flask) -> None:
    """Release what the app holds, newest first; safe to call more than once."""
    closers: list[Callable[[], None]] = app.extensions.get(CLOSERS_KEY, [])
    while closers:
        closers.pop()()
