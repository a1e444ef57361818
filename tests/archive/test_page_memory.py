"""A page of the archive is bounded in bytes as well as in count, and so is a server's memory under
concurrent worst-case listings (1 MiB messages, limit=1000)."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, insert

from archive_service.models import ArchivedMessage
from support.memory import peak_rss_bytes, worker_pids
from support.processes import ServiceProcess, start_service
from support.tokens import TestKeys

MESSAGES = 48
BODY = b'"' + b"x" * (1024 * 1024 - 2) + b'"'  # a 1 MiB JSON string, the exchange's largest message
PAGE_BYTES = 4 * 1024 * 1024
THREADS = 4
CONCURRENT = 8
# The bound README states: above its idle peak, a server process stays within
# MONTY_THREADS x 3 x MONTY_MAX_PAGE_BYTES however many pages are asked for at once.
BOUND = THREADS * 3 * PAGE_BYTES


@pytest.fixture
def archive(tmp_path: Path, test_keys: TestKeys) -> Iterator[ServiceProcess]:
    """The archive API on an SQLite file holding MESSAGES messages of 1 MiB."""
    settings = {
        "MONTY_DATA_DIR": str(tmp_path),
        "MONTY_JWKS_URL": test_keys.jwks_url,
        # No user service here: tokens are not checked for revocation.
        "MONTY_USERS_URL": "",
        "MONTY_THREADS": str(THREADS),
        "MONTY_MAX_PAGE_BYTES": str(PAGE_BYTES),
    }
    server = start_service("Microservices/ArchiveMicroservice/app.py", settings, tmp_path / "archive.log")
    try:
        server.wait_healthy()  # its init-db has made the table
        engine = create_engine(f"sqlite:///{tmp_path / 'archive.db'}")
        start = datetime(2026, 1, 1, tzinfo=UTC)
        rows = [
            {
                "message_id": f"big-{number}",
                "body": BODY.decode(),
                "producer": "producer-1",
                "routing_key": "message",
                "published_at": start + timedelta(seconds=number),
                "archived_at": start + timedelta(seconds=number),
                "size_bytes": len(BODY),
            }
            for number in range(MESSAGES)
        ]
        with engine.begin() as connection:
            connection.execute(insert(ArchivedMessage), rows)
        engine.dispose()
        yield server
    finally:
        server.stop()


def listing(server: ServiceProcess, headers: dict[str, str], cursor: str | None = None) -> dict[str, object]:
    """One page of GET /Messages?limit=1000 (oldest first), read to its end."""
    params = {"limit": "1000", "order": "oldest", **({"cursor": cursor} if cursor else {})}
    answer = requests.get(server.url + "/Messages", params=params, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    page: dict[str, object] = answer.json()
    return page


def test_a_page_stops_at_its_byte_budget_and_the_cursor_goes_on(
    archive: ServiceProcess, test_keys: TestKeys
) -> None:
    """Pages of at most MONTY_MAX_PAGE_BYTES say they were cut short; following them lists everything once."""
    headers = test_keys.bearer("reader", ["consumer"])
    seen: list[str] = []
    cursor = None
    while True:
        page = listing(archive, headers, cursor)
        items = page["items"]
        assert isinstance(items, list)
        assert page["count"] == len(items)
        assert 1 <= len(items) <= PAGE_BYTES // len(BODY)
        seen += [item["message_id"] for item in items]
        cursor = page["next_cursor"]  # type: ignore[assignment]
        if cursor is None:
            assert page["byte_limited"] is False
            break
        assert page["byte_limited"] is True
    assert seen == [f"big-{number}" for number in range(MESSAGES)]


def test_concurrent_worst_case_pages_keep_the_server_within_its_bound(
    archive: ServiceProcess, test_keys: TestKeys
) -> None:
    """CONCURRENT listings of limit=1000 at once, twice over: the worker's peak RSS grows less than BOUND."""
    headers = test_keys.bearer("reader", ["consumer"])
    listing(archive, headers)  # warms the process up: its code and pools are loaded
    (worker,) = worker_pids(archive.pid)
    idle_peak = peak_rss_bytes(worker)
    with ThreadPoolExecutor(CONCURRENT) as pool:
        for _round in range(2):
            list(pool.map(lambda _n: listing(archive, headers), range(CONCURRENT)))
    grown = peak_rss_bytes(worker) - idle_peak
    assert grown < BOUND, f"peak RSS grew by {grown >> 20} MiB, over the bound of {BOUND >> 20} MiB"
