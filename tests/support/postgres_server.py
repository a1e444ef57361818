"""A PostgreSQL server of a test's own (own port and data directory), to stop and start at will.

The machine's PostgreSQL is never stopped by a test: one that stops its database starts this one.
PostgreSQL refuses to run as root, so as root the server runs as the postgres user.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from support.polling import wait_until
from support.ports import free_port

# The server's binaries: Debian keeps them out of PATH, under their major version.
BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


class PostgresServer:
    """initdb, then pg_ctl start and stop, on a port and a data directory of its own (trust, loopback)."""

    def __init__(self) -> None:
        """Make the data directory (initdb); nothing starts yet."""
        found = shutil.which("pg_ctl")
        self._bin = Path(found).parent if found else BINARIES[-1]
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="monty-postgres-"))
        self.data = self.base / "data"
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user is not None:
            shutil.chown(self.base, self._user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    @property
    def url(self) -> str:
        """SQLAlchemy URL of its postgres database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server and wait until it takes connections."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base} -F"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "log"), "-w", "start")
        wait_until(self._accepts_connections, 30, f"PostgreSQL on port {self.port}", 0.2)

    def stop(self) -> None:
        """Stop the server at once (open sessions are ended), waiting until it is down."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def remove(self) -> None:
        """Stop the server and delete its data."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def _accepts_connections(self) -> bool:
        """Whether a connection opens."""
        try:
            psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres").close()
        except psycopg.OperationalError:
            return False
        return True

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        """Run one of the server's programs (as the postgres user when this is root)."""
        command = [str(self._bin / program), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        subprocess.run(command, check=check, capture_output=True, timeout=60, cwd=self.base)
