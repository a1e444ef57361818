"""The user service's files (database, secrets, the first admin's password) are its user's alone."""

from pathlib import Path

from support.commands import run_command
from support.file_modes import assert_private, open_to_everyone
from support.tokens import TestKeys


def test_init_db_keeps_every_file_private_in_an_open_data_dir(tmp_path: Path, test_keys: TestKeys) -> None:
    """In a data directory that existed 0755, init-db leaves it 0700 and users.db, service-secret and
    admin-password 0600; files an earlier version left 0644 are tightened at the next init-db."""
    data = tmp_path / "data"
    open_to_everyone(data)
    env = {"MONTY_DATA_DIR": str(data), "MONTY_JWKS_URL": test_keys.jwks_url}
    status, output = run_command("user_service", "init-db", env)
    assert status == 0, output
    assert {path.name for path in data.iterdir()} >= {"users.db", "service-secret", "admin-password"}
    assert_private(data)
    open_to_everyone(data)
    status, output = run_command("user_service", "init-db", env)
    assert status == 0, output
    assert_private(data)
