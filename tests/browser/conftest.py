"""The four services started as users start them, and Debian's Chromium driven by Playwright."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from docs_browser import SCREENSHOT_DIR_DEFAULT, Chromium

from support.stack import Stack, running_stack


@pytest.fixture(scope="module")
def stack(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Exchange, user, auth and archive services on SQLite and unique broker names."""
    with running_stack(amqp_url, tmp_path_factory.mktemp("browser-stack")) as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    """Debian's Chromium (/usr/bin/chromium), headless, shared by the module's tests."""
    browser = Chromium()
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where screenshots go: MONTY_SCREENSHOT_DIR, or artifacts/screenshots in the repository."""
    configured = os.environ.get("MONTY_SCREENSHOT_DIR")
    directory = Path(configured) if configured else SCREENSHOT_DIR_DEFAULT
    directory.mkdir(parents=True, exist_ok=True)
    return directory
