"""Listing users a page at a time, in username order, with a cursor."""

import pytest
from flask.testing import FlaskClient

from support.users import UserMaker


def test_pages_follow_the_cursor_in_username_order(
    client: FlaskClient, admin: dict[str, str], new_user: UserMaker
) -> None:
    """Pages of 2 cover every user once, ordered case-insensitively, the last with next_cursor null."""
    for name in ("delta", "Alpha", "charlie", "Bravo", "echo"):
        new_user(name)
    seen: list[str] = []
    cursors: list[str | None] = []
    after: str | None = None
    while True:
        query = {"limit": 2} | ({"after": after} if after else {})
        response = client.get("/users", query_string=query, headers=admin)
        assert response.status_code == 200
        page = response.get_json()
        assert len(page["items"]) <= 2
        seen += [user["username"] for user in page["items"]]
        cursors.append(page["next_cursor"])
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == ["Alpha", "Bravo", "charlie", "delta", "echo", "root"]
    assert cursors == ["bravo", "delta", None]


def test_default_page_holds_fifty(client: FlaskClient, admin: dict[str, str], new_user: UserMaker) -> None:
    """Without a limit a page holds 50 users (root and user00 to user48)."""
    for number in range(50):
        new_user(f"user{number:02d}")
    page = client.get("/users", headers=admin).get_json()
    assert len(page["items"]) == 50
    assert page["items"][0]["username"] == "root"
    assert page["next_cursor"] == "user48"
    rest = client.get("/users", query_string={"after": page["next_cursor"]}, headers=admin).get_json()
    assert [user["username"] for user in rest["items"]] == ["user49"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten"])
def test_limit_outside_1_to_200_is_400(client: FlaskClient, admin: dict[str, str], limit: str) -> None:
    """The limit must be a number from 1 to 200."""
    response = client.get("/users", query_string={"limit": limit}, headers=admin)
    assert response.status_code == 400
    assert response.get_json()["invalid_params"][0]["name"] == "limit"


def test_limit_200_is_accepted(client: FlaskClient, admin: dict[str, str]) -> None:
    """200 is the largest page."""
    assert client.get("/users", query_string={"limit": "200"}, headers=admin).status_code == 200
