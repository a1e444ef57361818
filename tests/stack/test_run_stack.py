"""The stack launcher (`make run`, scripts/run_stack.py) checks the broker first, over amqps too."""

from pathlib import Path

from support.processes import run_to_exit
from support.rabbit_node import RabbitNode
from support.tls import unrelated_ca

LAUNCHER = "scripts/run_stack.py"


def test_an_untrusted_broker_certificate_stops_the_stack_in_one_line(
    tls_rabbit_node: RabbitNode, tmp_path: Path
) -> None:
    """Over amqps with a CA that did not sign the broker's certificate, nothing starts: one line says
    why (without the password) and the status is 1."""
    result = run_to_exit(
        LAUNCHER,
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
