"""Logins through the live auth service land in the user service's audit log, with their request id."""

import requests

from support.identity import ADMIN, ADMIN_PASSWORD, Identity


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
