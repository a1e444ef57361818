"""A service started as users start it (`python Microservices/<Service>/app.py`), on a port of its own."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from support.rabbit_node import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


class LiveServer:
    """A service process under gunicorn, stopped with SIGTERM."""

    def __init__(
        self, script: str, env: dict[str, str], port: int | None = None, log_path: Path | None = None
    ) -> None:
        """Start `script` with MONTY_ settings from `env` on `port` (a free one by default).

        What it prints goes to `log_path` if given (kept after the test), else to a temporary file.
        """
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("MONTY_")}
        full_env.update({"MONTY_PORT": str(self.port), "MONTY_WORKERS": "1", "MONTY_THREADS": "4"}, **env)
        # A file, not a pipe: nobody reads a pipe while the server runs, and a server that fills one
        # (a fuzzer's requests are logged) would block on its next log line.
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("w+") if log_path is not None else tempfile.TemporaryFile("w+")  # noqa: SIM115
        self._output = ""
        self.process = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / script)],
            cwd=REPO_ROOT,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Wait until /healthz answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.output()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become healthy")

    def stop(self) -> str:
        """Stop the server and return what it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.output()

    def output(self) -> str:
        """Wait for the process to exit and return what it printed."""
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if not self._log.closed:
            self._log.seek(0)
            self._output = self._log.read()
            self._log.close()
        return self._output
