"""The user service started as users start it: the database prepared once, then two workers serving it."""

from pathlib import Path

import requests

from support.file_modes import assert_private, open_to_everyone
from support.processes import start_service
from support.users import SERVICE_SECRET


def test_two_workers_start_on_a_new_database(tmp_path: Path) -> None:
    """The new database is migrated and given its admin before the workers start. The output names the
    file holding the admin's password, never the password; every file is private while it serves."""
    data = tmp_path / "data"
    open_to_everyone(data)  # as an image's data directory, or one made by hand, may be
    server = start_service(
        "Microservices/UserMicroservice/app.py",
        {"MONTY_DATA_DIR": str(data), "MONTY_WORKERS": "2", "MONTY_SERVICE_SECRET": SERVICE_SECRET},
        tmp_path / "users.log",
    )
    try:
        server.wait_healthy()
        ready = requests.get(server.url + "/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok"}
        password = (data / "admin-password").read_text().strip()
        answer = requests.post(
            server.url + "/internal/credentials",
            json={"username": "admin", "password": password},
            headers={"Monty-Service-Secret": SERVICE_SECRET},
            timeout=5,
        )
        assert answer.status_code == 200
        # The workers hold the database open: its -wal and -shm files exist now.
        assert {path.name for path in data.iterdir()} >= {"users.db", "users.db-wal", "users.db-shm"}
        assert_private(data)
    finally:
        server.stop()
    output = server.output()
    assert (
        output.count(
            f"MontyExchange first admin: username=admin, password saved to {data / 'admin-password'}"
        )
        == 1
    )
    assert password not in output
    assert "Traceback" not in output
