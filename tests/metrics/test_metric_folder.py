"""Where a server's processes share their metrics: a private folder of each server start's own,
removed when the server exits, shared with no other instance whatever data folder or port they have."""

import os
from pathlib import Path

import requests

from support.file_modes import mode
from support.metrics import metric_folders, scrape, value
from support.polling import wait_until
from support.ports import free_port
from support.processes import start_service, stop_all

AUTH_APP = "Microservices/AuthMicroservice/app.py"
SHARED_MEMORY = Path("/dev/shm")


def test_a_server_shares_its_metrics_through_a_private_folder_removed_at_exit(tmp_path: Path) -> None:
    """Both workers write in one folder, 0700, outside MONTY_DATA_DIR (in /dev/shm when there is
    one), named for the server; it is gone once the server stopped."""
    data = tmp_path / "auth"
    auth = start_service(
        AUTH_APP, {"MONTY_DATA_DIR": str(data), "MONTY_WORKERS": "2"}, tmp_path / "auth.log", own_group=True
    )
    try:
        auth.wait_healthy()
        wait_until(lambda: bool(metric_folders(auth.group_pids())), 10, "the workers to write metrics", 0.1)
        [folder] = metric_folders(auth.group_pids())
        assert data not in folder.parents
        assert mode(folder) == 0o700
        assert folder.name.startswith("montyexchange-auth-metrics-")
        if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK | os.X_OK):
            assert folder.parent == SHARED_MEMORY
    finally:
        assert auth.stop() == 0, auth.output()[-2000:]
    assert not folder.exists()


def test_two_servers_on_one_port_and_data_folder_each_count_their_own(tmp_path: Path) -> None:
    """Two instances of a service on one port number (two addresses) and one MONTY_DATA_DIR, as
    compose's replicas of one volume: the second's start leaves the first's counts alone, and each
    /metrics shows its own requests only."""
    port = free_port()
    settings = {"MONTY_DATA_DIR": str(tmp_path / "auth"), "MONTY_WORKERS": "2"}
    started = [start_service(AUTH_APP, settings | {"MONTY_HOST": "127.0.0.1"}, tmp_path / "first.log", port)]
    first, second_url = started[0], f"http://127.0.0.2:{port}"
    try:
        first.wait_healthy()
        for _ in range(4):
            assert requests.get(first.url + "/readyz", timeout=10).status_code == 200
        started.append(
            start_service(AUTH_APP, settings | {"MONTY_HOST": "127.0.0.2"}, tmp_path / "second.log", port)
        )
        started[1].wait_healthy(second_url + "/healthz")
        for _ in range(2):
            assert requests.get(second_url + "/openapi/openapi.json", timeout=10).status_code == 200
        for _ in range(3):
            assert requests.get(first.url + "/readyz", timeout=10).status_code == 200
        first_counts, second_counts = scrape(first.url + "/metrics"), scrape(second_url + "/metrics")
    finally:
        stop_all(started)
    requests_total = "monty_http_requests_total"
    assert value(first_counts, requests_total, route="/readyz") == 7
    assert value(first_counts, requests_total, route="/openapi/openapi.json") == 0
    assert value(second_counts, requests_total, route="/openapi/openapi.json") == 2
    assert value(second_counts, requests_total, route="/readyz") == 0
