"""The first admin, created by init-db when the database has none."""

import logging
import os
import secrets
import tempfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monty_common.private_files import make_private, private_directory
from user_service.accounts import has_role
from user_service.audit import Action, note_command
from user_service.models import User
from user_service.passwords import hash_password
from user_service.settings import UserSettings
from user_service.user_rules import ADMIN, username_key

DEFAULT_ADMIN = "admin"
PASSWORD_FILE = "admin-password"  # noqa: S105 - a file name, not a password
PROMOTE_COMMAND = "flask --app user_service promote-admin <username>"

log = logging.getLogger(__name__)


def _admin_exists(sessions: sessionmaker[Session]) -> bool:
    """Whether any user holds the admin role."""
    with sessions.begin() as session:
        return session.scalar(select(User.id).where(has_role(ADMIN)).limit(1)) is not None


def _enabled_admin_exists(sessions: sessionmaker[Session]) -> bool:
    """Whether an enabled user holds the admin role."""
    with sessions.begin() as session:
        query = select(User.id).where(has_role(ADMIN), User.disabled.is_(False)).limit(1)
        return session.scalar(query) is not None


def _insert_admin(sessions: sessionmaker[Session], username: str, password: str) -> bool:
    """Create the admin; False if another process created a user of that name first."""
    user = User(username=username, username_key=username_key(username), password_hash=hash_password(password))
    user.roles = frozenset({ADMIN})
    try:
        with sessions.begin() as session:
            session.add(user)
            session.flush()
            note_command(session, Action.USER_CREATED, user.id, "init-db", username=username, roles=[ADMIN])
    except IntegrityError:
        return False
    return True


def _write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, readable by the service's user only."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # created 0600
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def ensure_admin(settings: UserSettings, sessions: sessionmaker[Session]) -> bool:
    """Create the first admin unless an admin exists; safe when several servers start at once.

    It is named by MONTY_ADMIN_USERNAME and MONTY_ADMIN_PASSWORD, or else called `admin` with a
    random password that is saved to data_dir/admin-password, whose path (never the password: output
    ends up in logs) is printed once. Whether an enabled admin exists afterwards: without one (the
    name is taken by a user who is no admin, or every admin is disabled) the service still starts,
    since everyone else can still log in, and the log names the command that makes an admin.
    """
    # A password file an earlier version left readable by others is tightened.
    make_private(settings.data_dir / PASSWORD_FILE)
    if not _admin_exists(sessions):
        _create_first_admin(settings, sessions)
    if _enabled_admin_exists(sessions):
        return True
    log.warning("The user database has no enabled admin; make one with: %s", PROMOTE_COMMAND)
    return False


def _create_first_admin(settings: UserSettings, sessions: sessionmaker[Session]) -> None:
    """Insert the first admin, unless another process did or a user of that name exists."""
    if settings.admin_username is not None and settings.admin_password is not None:
        _insert_admin(sessions, settings.admin_username, settings.admin_password)
    else:
        password = secrets.token_urlsafe(18)
        username = DEFAULT_ADMIN
        if _insert_admin(sessions, username, password):
            path = private_directory(settings.data_dir) / PASSWORD_FILE
            _write_private(path, password + "\n")
            print(f"MontyExchange first admin: username={username}, password saved to {path}", flush=True)
