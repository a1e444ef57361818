"""The one way a service binds what its app holds: a typed place in app.extensions."""

from collections.abc import Callable
from typing import Generic, TypeVar

from flask import Flask, current_app

from monty_common.lifecycle import on_close

T = TypeVar("T")


class Extension(Generic[T]):
    """An unbound extension: `init_app` gives each app its own `T`, `get` reads the current app's.

    Like Flask's own extensions it never keeps an app, so one module-level object serves every
    app a process builds (tests build many).
    """

    def __init__(self, key: str) -> None:
        """Name the place in app.extensions that holds the value."""
        self.key = key

    def init_app(self, app: Flask, value: T, close: Callable[[], None] | None = None) -> T:
        """Hold `value` for `app`; `close`, if given, runs when the app is closed."""
        app.extensions[self.key] = value
        if close is not None:
            on_close(app, close)
        return value

    def get(self, app: Flask | None = None) -> T:
        """The value held for `app`, by default the app handling the current request or command."""
        value: T = (app or current_app).extensions[self.key]
        return value
