"""`make run`'s launcher (scripts/run_stack.py): it checks the broker first, over amqps too, and starts
again a service of the stack that dies while the others go on."""

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.archive import ArchiveNames
from support.broker_admin import admin_channel, delete_topology
from support.names import Names
from support.polling import wait_until
from support.ports import free_port
from support.processes import ServiceProcess, python_command, run_to_exit
from support.rabbit_node import RabbitNode
from support.tls import unrelated_ca

WORKER_SCRIPT = "ArchiveMicroservice/worker.py"


def _children(pid: int) -> dict[int, str]:
    """The direct children of `pid`: their pids and command lines."""
    children: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            children[int(entry.name)] = command
    return children


def _worker_pid(stack: ServiceProcess) -> int | None:
    """The stack's archive worker process, if one runs."""
    return next((pid for pid, command in _children(stack.pid).items() if WORKER_SCRIPT in command), None)


def _consumers(amqp_url: str, queue: str) -> int:
    """Consumers of `queue` on the broker."""
    with admin_channel(amqp_url) as channel:
        count: int = channel.queue_declare(queue, passive=True).method.consumer_count
        return count


@pytest.fixture
def archive(names: Names) -> ArchiveNames:
    """The stack's archive queues, beside the test's exchange."""
    return ArchiveNames.around(names)


@pytest.fixture
def stack(amqp_url: str, names: Names, archive: ArchiveNames, tmp_path: Path) -> Iterator[ServiceProcess]:
    """`python scripts/run_stack.py` on free ports and names of the test's own, once it says it runs."""
    settings = {
        "MONTY_AMQP_URL": amqp_url,
        "MONTY_DATA_DIR": str(tmp_path / "var"),
        "MONTY_EXCHANGE": names.exchange,
        "MONTY_QUEUE": names.queue,
        **archive.env(),
        **{f"MONTY_STACK_{name}_PORT": str(free_port()) for name in ("USERS", "AUTH", "EXCHANGE", "ARCHIVE")},
        "MONTY_WORKER_METRICS_PORT": str(free_port()),
    }
    launcher = ServiceProcess(
        "stack", python_command("scripts/run_stack.py"), settings, tmp_path / "stack.log"
    )
    try:
        launcher.wait_healthy(lambda: "exchange on http" in launcher.output(), timeout=120)
        yield launcher
    finally:
        launcher.stop()
        delete_topology(amqp_url, archive.dead_letter_exchange, [archive.queue, archive.dead_letter_queue])


def test_a_service_that_dies_is_started_again(
    stack: ServiceProcess, amqp_url: str, archive: ArchiveNames
) -> None:
    """The archive worker is killed: the launcher says so, starts it again (it consumes its queue
    again), keeps the other services, and still stops cleanly on SIGTERM."""
    first = _worker_pid(stack)
    assert first is not None
    others = set(_children(stack.pid)) - {first}
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: "the archive worker service stopped" in stack.output(), 20, "the launcher to notice")
    wait_until(lambda: _worker_pid(stack) not in (None, first), 20, "a new archive worker")
    wait_until(lambda: _consumers(amqp_url, archive.queue) == 1, 30, "the new worker to consume its queue")
    assert others <= set(_children(stack.pid)), "another service was stopped"
    assert stack.stop() == 0
    assert _children(stack.pid) == {}


def test_an_untrusted_broker_certificate_stops_the_stack_in_one_line(
    tls_rabbit_node: RabbitNode, tmp_path: Path
) -> None:
    """Over amqps with a CA that did not sign the broker's certificate, nothing starts: one line says
    why (without the password) and the status is 1."""
    result = run_to_exit(
        "scripts/run_stack.py",
        {
            "MONTY_AMQP_URL": tls_rabbit_node.amqps_url,
            "MONTY_AMQP_CA_FILE": str(unrelated_ca(tmp_path)),
            "MONTY_DATA_DIR": str(tmp_path / "data"),
        },
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot reach RabbitMQ at amqps://guest:***@localhost:" in lines[0]
    assert "the broker's certificate was refused" in lines[0]
    assert result.stdout == ""
