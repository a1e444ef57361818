"""Managing accounts and checking credentials: the user service's work, below the HTTP layer."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from user_service.account_problems import last_admin, user_not_found, username_taken, wrong_password
from user_service.audit import Action, note, note_command
from user_service.extensions import database
from user_service.models import ROLE_SEPARATOR, User, now
from user_service.passwords import hash_password, needs_rehash, password_matches, spend_verification
from user_service.user_rules import ADMIN, username_key


@dataclass(frozen=True)
class UserPage:
    """Users in username order, and the cursor of the next page (None on the last)."""

    items: list[User]
    next_cursor: str | None


def has_role(role: str) -> ColumnElement[bool]:
    """SQL condition: the user holds `role` (a whole item of the comma-separated list)."""
    return (literal(ROLE_SEPARATOR) + User.roles_text + literal(ROLE_SEPARATOR)).contains(
        f"{ROLE_SEPARATOR}{role}{ROLE_SEPARATOR}", autoescape=True
    )


def _load(session: Session, user_id: str) -> User:
    """The user with `user_id`, or a 404 problem."""
    user = session.get(User, user_id)
    if user is None:
        raise user_not_found(user_id)
    return user


def _lock_enabled_admins(session: Session) -> None:
    """Lock the enabled admins' rows until the transaction ends, so removals of admins take turns.

    On PostgreSQL a second removal waits here for the first to commit, then sees its outcome. They
    are locked in id order, so two such transactions never deadlock. SQLite has no row locks (the
    clause is left out): there the write of the change itself takes the database's write lock.
    """
    session.execute(
        select(User.id).where(has_role(ADMIN), User.disabled.is_(False)).order_by(User.id).with_for_update()
    )


def _keep_an_admin(session: Session) -> None:
    """Refuse a change, written but not committed, that left no enabled admin.

    Counted after the change is written, under the locks `_lock_enabled_admins` took, so that the
    count sees every other removal that committed first, on PostgreSQL and SQLite alike. Whether
    the changed user was an admin is not asked beforehand: what was read before the locks may be
    stale.
    """
    session.flush()
    admins = select(func.count()).where(has_role(ADMIN), User.disabled.is_(False))
    if not session.scalar(admins):
        raise last_admin()


def create_user(username: str, password: str, roles: Iterable[str]) -> User:
    """A new enabled user; 409 if the name is taken, whatever its capitals."""
    password_hash = hash_password(password)
    user = User(username=username, username_key=username_key(username), password_hash=password_hash)
    user.roles = frozenset(roles)
    with database.session() as session:
        if session.scalar(select(User.id).where(User.username_key == user.username_key)):
            raise username_taken(username)
        session.add(user)
        try:
            session.flush()
        except IntegrityError:
            # Another request created the same name between our check and our insert.
            raise username_taken(username) from None
        note(session, user.id, username=user.username, roles=sorted(user.roles))
    return user


def list_users(limit: int, after: str | None) -> UserPage:
    """Up to `limit` users whose username key follows `after`, in username-key order."""
    query = select(User).order_by(User.username_key).limit(limit + 1)
    if after is not None:
        query = query.where(User.username_key > after)
    with database.session() as session:
        users = list(session.scalars(query))
    more = len(users) > limit
    users = users[:limit]
    return UserPage(users, users[-1].username_key if more else None)


def get_user(user_id: str) -> User:
    """The user with `user_id`, or a 404 problem."""
    with database.session() as session:
        return _load(session, user_id)


def find_active_user(user_id: str, token_version: int) -> User | None:
    """The user with `user_id` if it exists, is enabled, and has not revoked the tokens issued
    before `token_version` (a token's `ver`)."""
    with database.session() as session:
        user = session.get(User, user_id)
    if user is None or user.disabled or token_version < user.token_version:
        return None
    return user


def token_status(user_id: str) -> tuple[bool, int]:
    """Whether the user exists and is enabled, and their token version (0 for nobody)."""
    with database.session() as session:
        user = session.get(User, user_id)
    if user is None:
        return False, 0
    return not user.disabled, user.token_version


def _revoke_tokens(user: User) -> None:
    """End every token issued to the user so far: their `ver` is now too old."""
    # Raised in SQL, so that two revocations at once both count.
    user.token_version = User.token_version + 1


def set_roles(user_id: str, roles: Iterable[str]) -> User:
    """Replace the user's roles."""
    new_roles = frozenset(roles)
    with database.session() as session:
        if ADMIN not in new_roles:
            _lock_enabled_admins(session)
        user = _load(session, user_id)
        if user.roles - new_roles and ADMIN not in new_roles:
            # A token's roles are those of its login: one naming a role taken away must end. (A
            # token lacking a role just given is harmless: it is simply worth less; and an admin
            # who stays admin loses no power, since admin passes every role check.)
            _revoke_tokens(user)
        note(session, user.id, roles=sorted(new_roles), previous_roles=sorted(user.roles))
        user.roles = new_roles
        user.updated_at = now()
        if ADMIN not in new_roles:
            _keep_an_admin(session)
    return user


def set_disabled(user_id: str, disabled: bool) -> User:
    """Disable or enable the user; a disabled user cannot sign in."""
    with database.session() as session:
        if disabled:
            _lock_enabled_admins(session)
        user = _load(session, user_id)
        if user.disabled != disabled:
            user.disabled = disabled
            user.updated_at = now()
            if disabled:
                _revoke_tokens(user)
        note(session, user.id)
        if disabled:
            _keep_an_admin(session)
    return user


def promote_to_admin(username: str) -> User | None:
    """Give the user named `username` the admin role and enable them; None if there is no such user."""
    with database.session() as session:
        user = session.scalar(select(User).where(User.username_key == username_key(username)))
        if user is None:
            return None
        previous_roles, was_disabled = sorted(user.roles), user.disabled
        if ADMIN in user.roles and not was_disabled:
            return user  # already an enabled admin: nothing changes, nothing to record
        user.roles = user.roles | {ADMIN}
        user.disabled = False
        user.updated_at = now()
        note_command(
            session,
            Action.ROLES_CHANGED,
            user.id,
            "promote-admin",
            roles=sorted(user.roles),
            previous_roles=previous_roles,
            was_disabled=was_disabled,
        )
    return user


def reset_password(user_id: str, password: str) -> None:
    """Give the user a new password (an admin's act: the old one is not asked for), ending the
    tokens issued with the old one."""
    password_hash = hash_password(password)
    with database.session() as session:
        user = _load(session, user_id)
        user.password_hash = password_hash
        user.updated_at = now()
        _revoke_tokens(user)
        note(session, user.id)


def delete_user(user_id: str) -> None:
    """Delete the user for good."""
    with database.session() as session:
        _lock_enabled_admins(session)
        user = _load(session, user_id)
        session.delete(user)
        note(session, user_id, username=user.username)
        _keep_an_admin(session)


def change_own_password(user_id: str, old_password: str, new_password: str) -> None:
    """Change a user's password after checking the current one (403 if wrong); every token issued
    so far, the one asking included, stops working."""
    user = get_user(user_id)
    if not password_matches(user.password_hash, old_password):
        raise wrong_password()
    reset_password(user_id, new_password)


def verify_credentials(username: str, password: str) -> User | None:
    """The enabled user `username` if `password` is theirs, else None; every outcome costs one verify."""
    with database.session() as session:
        user = session.scalar(select(User).where(User.username_key == username_key(username)))
    if user is None:
        spend_verification()
        return None
    if not password_matches(user.password_hash, password) or user.disabled:
        return None
    if needs_rehash(user.password_hash):
        _upgrade_hash(user, hash_password(password))
    return user


def _upgrade_hash(user: User, password_hash: str) -> None:
    """Store a hash made with the current parameters, unless the password changed meanwhile."""
    with database.session() as session:
        session.execute(
            update(User)
            .where(User.id == user.id, User.password_hash == user.password_hash)
            .values(password_hash=password_hash)
        )
    user.password_hash = password_hash
