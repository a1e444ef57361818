"""The first admin: from MONTY_ADMIN_* settings, or generated once and saved 0600."""

import re
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine, delete, inspect, select, text
from sqlalchemy.pool import NullPool

from monty_common.lifecycle import close_app
from support.commands import run_command, start_command
from support.tokens import TestKeys
from support.users import ADMIN_PASSWORD, SERVICE_SECRET, AppFactory
from user_service import create_app
from user_service.extensions import database
from user_service.models import User
from user_service.settings import UserSettings

LINE = re.compile(r"MontyExchange first admin: username=admin, password saved to (.+)")


def test_admin_from_settings(
    make_app: AppFactory, secret_header: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    """MONTY_ADMIN_USERNAME and MONTY_ADMIN_PASSWORD name the first admin; nothing is printed or saved."""
    app = make_app(admin_username="Boss", admin_password="boss-password-1")
    client = app.test_client()
    response = client.post(
        "/internal/credentials",
        json={"username": "boss", "password": "boss-password-1"},
        headers=secret_header,
    )
    assert response.status_code == 200
    assert response.get_json()["roles"] == ["admin"]
    assert "first admin" not in capfd.readouterr().out
    settings: UserSettings = app.extensions["monty.settings"]
    assert not (settings.data_dir / "admin-password").exists()


def test_generated_admin_is_saved_0600_and_its_file_named_once(
    make_app: AppFactory, secret_header: dict[str, str], capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without settings an `admin` with a random password is made and saved 0600; the output names the
    file once and never shows the password."""
    first = make_app(admin_username=None, admin_password=None)
    out = capfd.readouterr().out
    lines = [line for line in out.splitlines() if "first admin" in line]
    assert len(lines) == 1
    match = LINE.fullmatch(lines[0])
    assert match is not None
    path = Path(match.group(1))
    assert path == (tmp_path / "data" / "admin-password")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    assert password not in out
    assert len(password) >= 24
    client = first.test_client()
    body = {"username": "admin", "password": password}
    answer = client.post("/internal/credentials", json=body, headers=secret_header)
    assert answer.status_code == 200
    assert answer.get_json()["roles"] == ["admin"]

    second = make_app(admin_username=None, admin_password=None)
    assert "first admin" not in capfd.readouterr().out
    assert path.read_text().strip() == password
    assert (
        second.test_client().post("/internal/credentials", json=body, headers=secret_header).status_code
        == 200
    )


def test_no_admin_is_added_while_one_exists(make_app: AppFactory, admin: dict[str, str]) -> None:
    """Starting again with other admin settings leaves the users as they are."""
    make_app()
    app = make_app(admin_username="other", admin_password="other-password-1")
    users = app.test_client().get("/users", headers=admin).get_json()["items"]
    assert [user["username"] for user in users] == ["root"]


def test_a_non_admin_holding_the_name_makes_no_admin_and_says_so(
    make_app: AppFactory, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """If no admin exists but the admin's name is taken, nobody is promoted behind the operator's back:
    the service starts, and the log names the command that makes an admin."""
    app = make_app()
    client = app.test_client()
    body = {"username": "Admin", "password": "a-good-password", "roles": ["consumer"]}
    assert client.post("/users", json=body, headers=admin).status_code == 201
    with app.app_context(), database.session() as session:
        session.execute(delete(User).where(User.username_key == "root"))
    make_app(admin_username=None, admin_password=None)
    assert "promote-admin <username>" in caplog.text
    with app.app_context(), database.session() as session:
        assert [user.roles for user in session.scalars(select(User))] == [frozenset({"consumer"})]


@pytest.mark.parametrize(
    "values",
    [
        {"admin_username": "boss"},
        {"admin_password": ADMIN_PASSWORD},
        {"admin_username": "boss", "admin_password": "short"},
    ],
    ids=["username-only", "password-only", "short-password"],
)
def test_half_or_weak_admin_settings_are_refused(values: dict[str, str]) -> None:
    """Both admin settings or neither, and the password obeys the length rule."""
    with pytest.raises(ValidationError):
        UserSettings(**values)


def test_init_db_runs_at_once_make_one_admin(database_url: str, tmp_path: Path) -> None:
    """`init-db` started at the same moment by several servers on a new database all succeed; one admin
    is made and printed."""
    env = {
        "MONTY_DATABASE_URL": database_url,
        "MONTY_DATA_DIR": str(tmp_path / "data"),
        "MONTY_SERVICE_SECRET": SERVICE_SECRET,
    }
    runs = [start_command("user_service", "init-db", env) for _ in range(4)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * 4, outputs
    assert len(re.findall("first admin", "".join(outputs))) == 1
    assert _rows(database_url, "SELECT username, roles FROM users") == [("admin", "admin")]


def test_the_factory_creates_no_tables_and_no_admin(
    database_url: str, tmp_path: Path, test_keys: TestKeys
) -> None:
    """create_app only binds the database: no migration, no admin, no password file."""
    settings = UserSettings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        jwks_url=test_keys.jwks_url,
        service_secret=SERVICE_SECRET,
    )
    close_app(create_app(settings))
    assert _table_names(database_url) == []
    assert not (tmp_path / "data" / "admin-password").exists()


def test_the_init_db_command_migrates_and_makes_the_first_admin(database_url: str, tmp_path: Path) -> None:
    """`flask --app user_service init-db` takes its settings from the environment: schema and first admin."""
    env = {
        "MONTY_DATABASE_URL": database_url,
        "MONTY_DATA_DIR": str(tmp_path / "data"),
        "MONTY_SERVICE_SECRET": SERVICE_SECRET,
        "MONTY_ADMIN_USERNAME": "Boss",
        "MONTY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    status, output = run_command("user_service", "init-db", env)
    assert status == 0, output
    assert _table_names(database_url) == ["alembic_version", "audit_events", "users"]
    assert _rows(database_url, "SELECT username, roles FROM users") == [("Boss", "admin")]
    # Run again, it finds everything done.
    assert run_command("user_service", "init-db", env)[0] == 0
    assert _rows(database_url, "SELECT username FROM users") == [("Boss",)]


def _table_names(url: str) -> list[str]:
    """The tables of the database at `url`, sorted."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        return sorted(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    """The rows `query` answers on the database at `url`."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()
