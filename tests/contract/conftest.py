"""Every service started for real, as users start them, for the contract fuzzer."""

from collections.abc import Iterator

import pytest

from support.paths import REPO_ROOT
from support.stack import Stack, archive_some_messages, fill_queue, running_stack

# The fuzzer logs in far more often than a person; the limits have tests of their own.
GENEROUS_LIMIT = "100000/minute"
ORDER_SCHEMA = REPO_ROOT / "Microservices/ExchangeMicroservice/schemas/order-message.schema.json"


@pytest.fixture(scope="module")
def stack(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Users, auth, two exchanges (with and without a message schema), archive worker and API."""
    limits = {
        f"MONTY_LOGIN_LIMIT_PER_{scope}": GENEROUS_LIMIT
        for scope in ("ACCOUNT_ADDRESS", "ACCOUNT", "ADDRESS")
    }
    with running_stack(
        amqp_url,
        tmp_path_factory.mktemp("stack"),
        auth_env=limits,
        exchanges={
            "exchange": {},
            "exchange with a message schema": {"MONTY_MESSAGE_SCHEMA": str(ORDER_SCHEMA)},
        },
        archive_worker=True,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def seeded(stack: Stack, amqp_url: str) -> None:
    """Messages for the fuzzer to find: some archived, many queued."""
    archive_some_messages(stack, stack.token())
    # Consumes that may wait (long polling) answer at once while the queue holds messages.
    fill_queue(amqp_url, stack.names.queue, 20000)
