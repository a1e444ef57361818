"""Every service started for real, as users start them, for the contract fuzzer."""

from collections.abc import Iterator

import pytest

from support.dead_letters import fill_dead_letters
from support.paths import REPO_ROOT
from support.stack import Stack, archive_some_messages, fill_queue, running_stack

# The fuzzer logs in far more often than a person; the limits have tests of their own.
GENEROUS_LIMIT = "100000/minute"
# Dead letters seeded for the fuzzer to list and look up by the ids it finds; a redrive of all puts
# back 100 of them at most, so its redrives leave most of them (the scan limit has tests of its own).
DEAD_LETTERS_KEPT = {"MONTY_DEAD_LETTER_SCAN": "100"}
DEAD_LETTERS = 5000
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
            "exchange": DEAD_LETTERS_KEPT,
            "exchange with a message schema": {
                **DEAD_LETTERS_KEPT,
                "MONTY_MESSAGE_SCHEMA": str(ORDER_SCHEMA),
            },
        },
        archive_worker=True,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def seeded(stack: Stack, amqp_url: str) -> None:
    """Messages for the fuzzer to find: some archived, many queued, some dead letters."""
    archive_some_messages(stack, stack.token())
    # Consumes that may wait (long polling) answer at once while the queue holds messages.
    fill_queue(amqp_url, stack.names.queue, 20000)
    fill_dead_letters(amqp_url, stack.names.queue, DEAD_LETTERS)
