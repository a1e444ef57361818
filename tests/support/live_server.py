"""A service started as users start it (`python Microservices/<Service>/app.py`), on a port of its own."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from support.rabbit_node import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


class LiveServer:
    """A service process under gunicorn, stopped with SIGTERM."""

    def __init__(self, script: str, env: dict[str, str], port: int | None = None) -> None:
        """Start `script` with MONTY_ settings from `env` on `port` (a free one by default)."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("MONTY_")}
        full_env.update({"MONTY_PORT": str(self.port), "MONTY_WORKERS": "1", "MONTY_THREADS": "4"}, **env)
        self.process = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / script)],
            cwd=REPO_ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
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
            out, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return out or ""
