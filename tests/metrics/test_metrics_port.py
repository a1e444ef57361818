"""MONTY_METRICS_PORT that cannot be served: refused at start with one line, never a traceback."""

import socket
from pathlib import Path

from support.ports import free_port
from support.processes import run_to_exit

AUTH_APP = "Microservices/AuthMicroservice/app.py"


def test_a_metrics_port_equal_to_the_service_port_is_an_invalid_setting(tmp_path: Path) -> None:
    """Exit 2 before anything is bound, with one line naming MONTY_METRICS_PORT (as for any
    invalid setting)."""
    port = free_port()
    settings = {"MONTY_DATA_DIR": str(tmp_path), "MONTY_PORT": str(port), "MONTY_METRICS_PORT": str(port)}
    finished = run_to_exit(AUTH_APP, settings)
    assert finished.returncode == 2, finished.stderr
    assert finished.stderr.splitlines() == [
        f"invalid setting MONTY_METRICS_PORT: Value error, is MONTY_PORT ({port}): choose another "
        "port, or 0 to serve /metrics on MONTY_PORT"
    ]


def test_a_metrics_port_in_use_stops_the_server_with_one_line(tmp_path: Path) -> None:
    """A port another process holds: exit 1 before any worker starts, one line naming the setting
    and the address, and no traceback."""
    with socket.create_server(("127.0.0.1", 0)) as holder:
        taken = holder.getsockname()[1]
        settings = {
            "MONTY_DATA_DIR": str(tmp_path),
            "MONTY_PORT": str(free_port()),
            "MONTY_METRICS_PORT": str(taken),
        }
        finished = run_to_exit(AUTH_APP, settings)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    assert "Traceback" not in output
    assert "Booting worker" not in output
    assert (
        f"montyexchange-auth: MONTY_METRICS_PORT: cannot listen on 127.0.0.1:{taken}: Address already in use"
        in finished.stderr.splitlines()
    ), output
