"""When no enabled admin is left: the service still starts, says how to recover, and the operator
promotes a named user with `flask --app user_service promote-admin <username>`."""

import json
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from support.commands import run_command
from support.processes import start_service
from support.users import ADMIN_PASSWORD, SERVICE_SECRET

COMMAND = "flask --app user_service promote-admin <username>"


def _settings(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The user service's settings, naming `boss` as its first admin."""
    return {
        "MONTY_DATABASE_URL": database_url,
        "MONTY_DATA_DIR": str(tmp_path / "data"),
        "MONTY_SERVICE_SECRET": SERVICE_SECRET,
        "MONTY_ADMIN_USERNAME": "boss",
        "MONTY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }


def _execute(url: str, statement: str) -> list[tuple[object, ...]]:
    """Run one SQL statement on the database at `url` (committed); the rows it answers, if any."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _admins_lost(database_url: str, tmp_path: Path) -> dict[str, str]:
    """A database whose only admin, `boss`, was demoted (as two admins demoting each other once
    could); the settings that name `boss` as the first admin."""
    env = _settings(database_url, tmp_path)
    status, output = run_command("user_service", "init-db", env)
    assert status == 0, output
    _execute(database_url, "UPDATE users SET roles = 'producer'")
    return env


def test_the_service_starts_without_an_admin_and_names_the_way_back(
    database_url: str, tmp_path: Path
) -> None:
    """With no enabled admin and the first admin's name taken, init-db and the service still start
    (everyone else keeps logging in), and the log names the command that makes an admin."""
    env = _admins_lost(database_url, tmp_path)
    status, output = run_command("user_service", "init-db", env)
    assert status == 0, output
    assert COMMAND in output
    server = start_service("Microservices/UserMicroservice/app.py", env, tmp_path / "users.log")
    try:
        server.wait_healthy()
        assert COMMAND in server.output()
    finally:
        server.stop()


def test_promote_admin_makes_a_named_user_an_enabled_admin(database_url: str, tmp_path: Path) -> None:
    """The command gives the user the admin role and enables them, keeping their other roles."""
    env = _admins_lost(database_url, tmp_path)
    _execute(database_url, "UPDATE users SET disabled = true")
    status, output = run_command("user_service", "promote-admin", env, ["BOSS"])
    assert status == 0, output
    assert "boss is now an enabled admin" in output
    assert _execute(database_url, "SELECT username, roles, disabled FROM users") == [
        ("boss", "admin,producer", False)
    ]
    status, output = run_command("user_service", "init-db", env)
    assert status == 0, output
    assert COMMAND not in output


def test_commands_that_make_an_admin_are_audited(database_url: str, tmp_path: Path) -> None:
    """The first admin made by init-db and a promotion by promote-admin are audit events whose actor
    is the command line, the promotion with the roles before and after; a promotion that changes
    nothing records nothing."""
    env = _admins_lost(database_url, tmp_path)
    for _ in range(2):  # the second changes nothing, so records nothing
        status, output = run_command("user_service", "promote-admin", env, ["boss"])
        assert status == 0, output
    events = _execute(
        database_url,
        "SELECT action, actor_id, actor, target, outcome, details FROM audit_events ORDER BY id",
    )
    [(boss_id,)] = _execute(database_url, "SELECT id FROM users")
    details = [_json(event[5]) for event in events]
    assert [event[:5] for event in events] == [
        ("user_created", None, "command line", boss_id, "succeeded"),
        ("roles_changed", None, "command line", boss_id, "succeeded"),
    ]
    assert details == [
        {"command": "init-db", "username": "boss", "roles": ["admin"]},
        {
            "command": "promote-admin",
            "roles": ["admin", "producer"],
            "previous_roles": ["producer"],
            "was_disabled": False,
        },
    ]


def _json(value: object) -> object:
    """A JSON column as read back (a string on SQLite, already decoded on PostgreSQL)."""
    return json.loads(value) if isinstance(value, str) else value


def test_promote_admin_of_an_unknown_user_fails_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    """An unknown username is an error (exit status 1) that says so; no user is created or changed."""
    env = _admins_lost(database_url, tmp_path)
    status, output = run_command("user_service", "promote-admin", env, ["nobody"])
    assert status == 1
    assert "no user named 'nobody'" in output
    assert _execute(database_url, "SELECT username, roles FROM users") == [("boss", "producer")]
