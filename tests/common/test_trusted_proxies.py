"""MONTY_TRUSTED_PROXIES: every service reads the client's address through its proxies, or not at all."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import request
from flask_openapi3.openapi import OpenAPI

from archive_service import create_app as create_archive_app
from archive_service.settings import ArchiveSettings
from auth_service import create_app as create_auth_app
from auth_service.settings import AuthSettings
from exchange_service import create_app as create_exchange_app
from exchange_service.settings import ExchangeSettings
from monty_common.lifecycle import close_app
from support.tokens import TestKeys
from support.users import SERVICE_SECRET
from user_service import create_app as create_user_app
from user_service.settings import UserSettings

Factory = Callable[[Path, TestKeys, int], OpenAPI]

SERVICES: dict[str, Factory] = {
    "exchange": lambda tmp, keys, proxies: create_exchange_app(
        ExchangeSettings(jwks_url=keys.jwks_url, data_dir=tmp, trusted_proxies=proxies)
    ),
    "users": lambda tmp, keys, proxies: create_user_app(
        UserSettings(
            database_url=f"sqlite:///{tmp / 'users.db'}",
            data_dir=tmp,
            jwks_url=keys.jwks_url,
            service_secret=SERVICE_SECRET,
            trusted_proxies=proxies,
        )
    ),
    "auth": lambda tmp, keys, proxies: create_auth_app(
        AuthSettings(data_dir=tmp, service_secret=SERVICE_SECRET, trusted_proxies=proxies)
    ),
    "archive": lambda tmp, keys, proxies: create_archive_app(
        ArchiveSettings(
            archive_database_url=f"sqlite:///{tmp / 'archive.db'}",
            data_dir=tmp,
            jwks_url=keys.jwks_url,
            trusted_proxies=proxies,
        )
    ),
}


@pytest.fixture
def client_address(tmp_path: Path, test_keys: TestKeys) -> Iterator[Callable[..., Any]]:
    """The (address, scheme) a service's app sees for a request from 10.0.0.2 carrying proxy headers."""
    apps: list[OpenAPI] = []

    def seen(service: str, proxies: int) -> tuple[str | None, str]:
        app = SERVICES[service](tmp_path, test_keys, proxies)
        apps.append(app)
        observed: list[tuple[str | None, str]] = []
        app.before_request(lambda: observed.append((request.remote_addr, request.scheme)) and None)
        app.test_client().get(
            "/healthz",
            headers={"X-Forwarded-For": "203.0.113.5, 198.51.100.7", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
        )
        return observed[0]

    yield seen
    for app in apps:
        close_app(app)


@pytest.mark.parametrize("service", list(SERVICES))
def test_one_trusted_proxy_gives_the_address_it_saw(client_address: Callable[..., Any], service: str) -> None:
    """With one trusted proxy the client is the last address it appended, and the scheme its own."""
    assert client_address(service, 1) == ("198.51.100.7", "https")


@pytest.mark.parametrize("service", list(SERVICES))
def test_by_default_proxy_headers_are_not_believed(client_address: Callable[..., Any], service: str) -> None:
    """Without trusted proxies the headers are anyone's claim: the address is the TCP peer's."""
    assert client_address(service, 0) == ("10.0.0.2", "http")
