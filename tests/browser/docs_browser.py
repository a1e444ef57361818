"""Helpers of the browser tests: Debian's Chromium under Playwright, and the pages it visits."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from support.paths import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
SCREENSHOT_DIR_DEFAULT = REPO_ROOT / "artifacts" / "screenshots"
DOCS_PAGE = "/openapi/swagger"
OPENAPI_DOC = "/openapi/openapi.json"


@dataclass
class VisitedPage:
    """A page opened on one service, with every URL it requested."""

    page: Page
    origin: str
    requested: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def policy_violations(self) -> list[str]:
        """What the browser refused because of the page's Content-Security-Policy."""
        return [text for text in self.console if "Content Security Policy" in text]

    def foreign_requests(self) -> list[str]:
        """Requested URLs that are neither data: URLs nor on the service's own origin."""
        own = urlsplit(self.origin)
        foreign = []
        for url in self.requested:
            parts = urlsplit(url)
            if parts.scheme == "data":
                continue
            if (parts.scheme, parts.netloc) != (own.scheme, own.netloc):
                foreign.append(url)
        return foreign


class Chromium:
    """Debian's Chromium under Playwright, launched on first use so a missing browser fails the test."""

    def __init__(self) -> None:
        """Nothing runs yet."""
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def _launched(self) -> Browser:
        """The browser, launched now if it is not running yet."""
        if self._browser is None:
            if not CHROMIUM.exists():
                pytest.fail(
                    f"{CHROMIUM} is missing: install Debian's chromium "
                    "(apt-get install -y --no-install-recommends chromium chromium-driver); "
                    "the browser tests never download a browser of their own"
                )
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
        return self._browser

    @contextmanager
    def visit(self, origin: str) -> Iterator[VisitedPage]:
        """A fresh page (own context: no stored authorization) recording what it requests."""
        context = self._launched().new_context(viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            page.set_default_timeout(15_000)
            visited = VisitedPage(page, origin)
            page.on("request", lambda request: visited.requested.append(request.url))
            page.on("console", lambda message: visited.console.append(message.text))
            yield visited
        finally:
            context.close()

    def close(self) -> None:
        """Stop the browser and Playwright, if they were started."""
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
