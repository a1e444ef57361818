"""At least one enabled admin remains, even when admins remove each other at the same moment."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask_openapi3.openapi import OpenAPI
from sqlalchemy import select

from monty_common.problems import ProblemError
from support.users import AppFactory
from user_service import accounts
from user_service.extensions import database
from user_service.models import User

ROUNDS = 25
Removal = Callable[[str], object]

REMOVALS: dict[str, Removal] = {
    "demote": lambda user_id: accounts.set_roles(user_id, ["producer"]),
    "disable": lambda user_id: accounts.set_disabled(user_id, True),
    "delete": accounts.delete_user,
}


def _enabled_admins(app: OpenAPI) -> list[str]:
    """The usernames of the enabled admins."""
    with app.app_context(), database.session() as session:
        admins = session.scalars(select(User).where(accounts.has_role("admin"), User.disabled.is_(False)))
        return sorted(user.username for user in admins)


def _only_admins(app: OpenAPI, usernames: tuple[str, str]) -> list[str]:
    """Make `usernames` (created if missing) the only enabled admins; their ids."""
    with app.app_context():
        ids = []
        for username in usernames:
            with database.session() as session:
                found = session.scalar(select(User).where(User.username == username))
            if found is None:
                found = accounts.create_user(username, "an admin password", ["admin"])
            accounts.set_roles(found.id, ["admin"])
            accounts.set_disabled(found.id, False)
            ids.append(found.id)
        with database.session() as session:
            others = list(session.scalars(select(User.id).where(User.id.not_in(ids))))
        for user_id in others:
            accounts.set_roles(user_id, ["producer"])
    return ids


def _race(app: OpenAPI, removals: list[tuple[Removal, str]]) -> list[str]:
    """Run every removal at the same moment, each in a thread of its own; what each answered."""
    start = threading.Barrier(len(removals))

    def remove(removal: Removal, user_id: str) -> str:
        with app.app_context():
            start.wait()
            try:
                removal(user_id)
            except ProblemError as problem:
                return problem.slug
            return "done"

    with ThreadPoolExecutor(len(removals)) as pool:
        return list(pool.map(lambda job: remove(*job), removals))


@pytest.mark.parametrize(
    ("first", "second"),
    [("demote", "demote"), ("disable", "delete"), ("delete", "demote")],
)
def test_admins_removing_each_other_at_once_leave_one(make_app: AppFactory, first: str, second: str) -> None:
    """Two admins removed at the same moment (each by the other): one change is refused, never both done."""
    app = make_app()
    for _ in range(ROUNDS):
        alice, bob = _only_admins(app, ("alice", "bob"))
        outcomes = _race(app, [(REMOVALS[first], alice), (REMOVALS[second], bob)])
        assert sorted(outcomes) == ["done", "last-admin"]
        assert len(_enabled_admins(app)) == 1
