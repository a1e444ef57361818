"""Logins through the live auth service land in the user service's audit log, with their request id;
throttled ones too, once per address a minute."""

import time

import requests

from support.identity import ADMIN, ADMIN_PASSWORD, Identity
from support.polling import wait_until


def test_a_login_through_the_auth_service_is_audited_with_its_request_id_and_client(
    identity: Identity,
) -> None:
    """The auth service passes the login's request id and client address on; the password stays out."""
    failed = requests.post(
        identity.auth.url + "/auth/token",
        json={"username": ADMIN, "password": "not-the-admin-password"},
        headers={"X-Request-Id": "login-audit-1"},
        timeout=10,
    )
    assert failed.status_code == 401
    admin = identity.bearer(ADMIN, ADMIN_PASSWORD)
    page = requests.get(identity.users.url + "/Audit", params={"limit": 2}, headers=admin, timeout=10)
    assert page.status_code == 200, page.text
    succeeded, refused = page.json()["items"]
    assert (refused["action"], refused["request_id"], refused["client"]) == (
        "login_failed",
        "login-audit-1",
        "127.0.0.1",
    )
    assert succeeded["action"] == "login_succeeded"
    assert "not-the-admin-password" not in page.text


def test_throttled_logins_from_one_address_leave_one_event_a_minute(identity: Identity) -> None:
    """Twenty 429s from one address within a minute's window are one login_throttled event: the name
    given, no user id, the first refused request's id and the address; never the password."""
    # The auth service counts in windows of whole minutes: this one must hold the whole flood.
    wait_until(lambda: 60 - time.time() % 60 >= 20, 60, "a minute's window with 20 s left", 0.2)
    guess = {"username": "mallory", "password": "a guess at a password"}
    url = identity.auth.url + "/auth/token"
    for _ in range(5):
        assert requests.post(url, json=guess, timeout=10).status_code == 401
    refused = [
        requests.post(url, json=guess, headers={"X-Request-Id": f"throttled-{number}"}, timeout=10)
        for number in range(20)
    ]
    assert [answer.status_code for answer in refused] == [429] * 20
    admin = identity.bearer(ADMIN, ADMIN_PASSWORD)
    page = requests.get(identity.users.url + "/Audit", params={"limit": 50}, headers=admin, timeout=10)
    assert page.status_code == 200, page.text
    (event,) = [event for event in page.json()["items"] if event["action"] == "login_throttled"]
    assert (event["actor"], event["actor_id"], event["target"], event["outcome"]) == (
        "mallory",
        None,
        None,
        "refused",
    )
    assert (event["request_id"], event["client"], event["details"]) == ("throttled-0", "127.0.0.1", {})
    assert "a guess at a password" not in page.text
