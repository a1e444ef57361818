"""The repository's own haproxy.cfg run on this machine: one of its backends, local servers in place of
the compose replicas, and its stats page read back as per-server counters."""

import csv
import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from support.paths import REPO_ROOT
from support.polling import wait_until
from support.ports import free_port
from support.processes import ServiceProcess, stop_all

SHIPPED_CONFIG = REPO_ROOT / "Deployment/Docker/MontyExchangeMicroservice/haproxy.cfg"
STATS_PATH = "/stats"


def haproxy_binary() -> str:
    """HAProxy from the system's packages (scripts/prepare_test_machine.sh installs it)."""
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    assert found, "haproxy is missing: run scripts/prepare_test_machine.sh"
    return found


def sections(config: str) -> list[tuple[str, list[str]]]:
    """The config's sections in order: each header line ("backend exchange") and its indented lines."""
    found: list[tuple[str, list[str]]] = []
    for line in config.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            found.append((line.strip(), []))
        elif found:
            found[-1][1].append(line.strip())
    return found


def render_local(config: str, service: str, lb_port: int, stats_port: int, server_ports: list[int]) -> str:
    """`config` with only `service`'s frontend and backend and the stats page, bound to loopback ports,
    its server template replaced by one server per local port, and Docker's DNS left out.

    Everything else (timeouts, balancing, retries, health check, buffering) stays as shipped; the
    function fails if the config no longer has the shape it rewrites, so the test cannot pass on a
    config it did not run.
    """
    kept: list[str] = []
    rewritten = {"bind": 0, "server-template": 0, "resolvers": 0}
    for header, lines in sections(config):
        if header.startswith("resolvers "):
            continue
        if header in (f"frontend {service}", f"backend {service}", "frontend stats") or header in (
            "global",
            "defaults",
        ):
            kept.append(header)
            for line in lines:
                if line.startswith("bind "):
                    port = lb_port if header == f"frontend {service}" else stats_port
                    line = f"bind 127.0.0.1:{port}"
                    rewritten["bind"] += 1
                elif line.startswith("server-template "):
                    name = line.split()[1]
                    kept.extend(
                        f"    server {name}{i} 127.0.0.1:{port}" for i, port in enumerate(server_ports)
                    )
                    rewritten["server-template"] += 1
                    continue
                elif " resolvers " in f" {line} ":
                    line = re.sub(r"\s+resolvers\s+\S+", "", line)
                    rewritten["resolvers"] += 1
                kept.append(f"    {line}")
    assert rewritten == {"bind": 2, "server-template": 1, "resolvers": 1}, rewritten
    return "\n".join(kept) + "\n"


class LoadBalancer:
    """HAProxy running a rendered config, with its front port and per-server counters."""

    def __init__(self, process: ServiceProcess, stats_port: int, backend: str) -> None:
        """Wrap a started HAProxy process."""
        self.process = process
        self.stats_url = f"http://127.0.0.1:{stats_port}{STATS_PATH};csv"
        self.backend = backend

    @property
    def url(self) -> str:
        """Where clients send requests."""
        return self.process.url

    def servers(self) -> dict[str, dict[str, str]]:
        """Each server of the backend by name: its stats row (status "UP"/"DOWN", hrsp_2xx, ...)."""
        text = requests.get(self.stats_url, timeout=5).text.lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            row["svname"]: row
            for row in rows
            if row["pxname"] == self.backend and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def answered_2xx(self) -> dict[str, int]:
        """2xx answers each server gave through the balancer so far."""
        return {name: int(row["hrsp_2xx"] or 0) for name, row in self.servers().items()}

    def status(self) -> dict[str, str]:
        """Each server's health as HAProxy sees it ("UP", "DOWN", "UP 1/2", ...)."""
        return {name: row["status"] for name, row in self.servers().items()}


@contextmanager
def load_balancer(service: str, server_ports: list[int], log_dir: Path) -> Iterator[LoadBalancer]:
    """The shipped config's `service` (its frontend and backend of that name) in front of local
    servers on `server_ports`; yielded once HAProxy reports every server up."""
    lb_port, stats_port = free_port(), free_port()
    config = render_local(SHIPPED_CONFIG.read_text(), service, lb_port, stats_port, server_ports)
    path = log_dir / "haproxy.cfg"
    path.write_text(config)
    check = subprocess.run(
        [haproxy_binary(), "-c", "-q", "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert check.returncode == 0, f"HAProxy refuses the rendered config:\n{config}\n{check.stderr}"
    process = ServiceProcess(
        "haproxy", [haproxy_binary(), "-db", "-f", str(path)], {}, log_dir / "haproxy.log", lb_port
    )
    balancer = LoadBalancer(process, stats_port, service)
    try:

        def all_up() -> bool:
            try:
                return set(balancer.status().values()) == {"UP"}
            except requests.RequestException:
                return False

        process.wait_healthy(all_up)
        yield balancer
    finally:
        stop_all([process])


def wait_for_status(balancer: LoadBalancer, server: str, status: str, timeout: float) -> None:
    """Wait until HAProxy reports `server` with `status`."""
    wait_until(lambda: balancer.status().get(server) == status, timeout, f"{server} to be {status}", 0.1)
