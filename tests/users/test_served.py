"""The user service started as users start it: the database prepared once, then two workers serving it."""

import re
from pathlib import Path

import requests

from support.processes import start_service
from support.users import SERVICE_SECRET


def test_two_workers_start_on_a_new_database(tmp_path: Path) -> None:
    """The new database is migrated and given its admin before the workers start; one admin is printed."""
    server = start_service(
        "Microservices/UserMicroservice/app.py",
        {"MONTY_DATA_DIR": str(tmp_path), "MONTY_WORKERS": "2", "MONTY_SERVICE_SECRET": SERVICE_SECRET},
        tmp_path / "users.log",
    )
    try:
        server.wait_healthy()
        ready = requests.get(server.url + "/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok"}
        password = (tmp_path / "admin-password").read_text().strip()
        answer = requests.post(
            server.url + "/internal/credentials",
            json={"username": "admin", "password": password},
            headers={"Monty-Service-Secret": SERVICE_SECRET},
            timeout=5,
        )
        assert answer.status_code == 200
    finally:
        server.stop()
    output = server.output()
    assert len(re.findall(r"MontyExchange first admin: username=admin password=", output)) == 1, output
    assert "Traceback" not in output
