"""Services run as their own processes: started from the repository root, watched, and stopped."""

import math
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import requests

from support.metrics import metric_folders
from support.paths import REPO_ROOT
from support.polling import wait_until
from support.ports import free_port

# How long a process has to exit after SIGTERM before it is killed.
STOP_SECONDS = 20.0


class ServiceDidNotStart(RuntimeError):
    """A process exited, or did not become healthy in time."""


class ServiceProcess:
    """A command run from the repository root with MONTY_ settings of its own, its output in a file."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        settings: Mapping[str, str],
        log_path: Path | None = None,
        port: int | None = None,
        own_group: bool = False,
    ) -> None:
        """Start `command` in this machine's environment without its MONTY_ variables, plus `settings`.

        What it prints goes to `log_path` (a file, never a pipe nobody reads: a full pipe would block
        the process), or to this process's own terminal without one. `port` is where it serves HTTP.
        With `own_group` it leads a process group of its own, which `kill_group` kills whole.
        """
        self.name = name
        self.log_path = log_path
        self.port = port
        output = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            output = log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                list(command),
                cwd=REPO_ROOT,
                env=environment(settings),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
                process_group=0 if own_group else None,
            )
        finally:
            if output is not None:
                output.close()  # the child holds its own copy
        self._terminated = False
        self._own_group = own_group

    @property
    def url(self) -> str:
        """Base URL of the HTTP server it runs."""
        assert self.port is not None, f"{self.name} serves no HTTP"
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Its process id (a server's workers are its children)."""
        return self.process.pid

    @property
    def exit_code(self) -> int | None:
        """Its exit status, or None while it runs."""
        return self.process.poll()

    @property
    def running(self) -> bool:
        """Whether it has not exited yet."""
        return self.exit_code is None

    def wait_healthy(self, ready: str | Callable[[], bool] | None = None, timeout: float = 30.0) -> None:
        """Wait until `ready` holds (a URL answers 200; by default /healthz), failing if the process exits."""
        if ready is None:
            ready = self.url + "/healthz"
        check = partial(responds, ready) if isinstance(ready, str) else ready
        try:
            wait_until(lambda: not self.running or check(), timeout, f"{self.name} to become healthy", 0.1)
        except AssertionError:
            raise ServiceDidNotStart(
                f"{self.name} did not become healthy in {timeout} s{self._tail()}"
            ) from None
        if not self.running:
            raise ServiceDidNotStart(f"{self.name} exited with status {self.exit_code}{self._tail()}")

    def terminate(self) -> None:
        """Send SIGTERM once, if it still runs, without waiting."""
        if self.running and not self._terminated:
            self.process.send_signal(signal.SIGTERM)
            self._terminated = True

    def stop(self) -> int:
        """SIGTERM, wait, SIGKILL if it does not exit in time; its exit status."""
        self.terminate()
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self) -> int:
        """SIGKILL: no chance to commit, ack or close anything; its exit status."""
        leftovers = metric_folders([self.pid, *children(self.pid)])
        self.process.kill()
        code = self.process.wait()
        _remove(leftovers)
        return code

    def kill_group(self) -> int:
        """SIGKILL its whole process group at once (a server's master and workers alike): a crash."""
        assert self._own_group, f"{self.name} was started without a process group of its own"
        leftovers = metric_folders(self.group_pids())
        os.killpg(self.process.pid, signal.SIGKILL)
        code = self.process.wait()
        _remove(leftovers)
        return code

    def group_pids(self) -> list[int]:
        """Ids of the processes of its process group (a server's master and workers)."""
        assert self._own_group, f"{self.name} was started without a process group of its own"
        return _processes_where(PROCESS_GROUP, self.process.pid)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop it and its children (SIGSTOP) for the block, then let them go on (SIGCONT): meanwhile
        the kernel still accepts connections to its port, but nothing answers, as with a server that
        hangs."""
        pids = [self.pid, *children(self.pid)]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)

    def output(self) -> str:
        """What it printed so far (nothing is kept when it prints to the terminal)."""
        if self.log_path is None:
            return ""
        return self.log_path.read_text(errors="replace")

    def _tail(self) -> str:
        """The end of its output, for an error message."""
        output = self.output()
        return f"; its output ends with:\n{output[-3000:]}" if output else ""


def children(pid: int) -> list[int]:
    """Ids of the processes whose parent is `pid` (a server's workers)."""
    return _processes_where(PARENT, pid)


# Fields of /proc/<pid>/stat after the command name (in parentheses): state, parent, process group.
PARENT, PROCESS_GROUP = 1, 2


def _processes_where(field: int, value: int) -> list[int]:
    """Ids of the processes whose stat `field` is `value`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it exited meanwhile
        if int(fields[field]) == value:
            found.append(int(stat.parent.name))
    return found


def _remove(metric_folders: set[Path]) -> None:
    """Remove the metric folders of a killed server, which it had no chance to remove itself (its
    workers may still write in them until they notice: their files stay theirs until they exit)."""
    for folder in metric_folders:
        shutil.rmtree(folder, ignore_errors=True)


def environment(settings: Mapping[str, str]) -> dict[str, str]:
    """This machine's environment without its MONTY_ variables, plus `settings`."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("MONTY_")}
    return inherited | dict(settings)


def python_command(script: str, *arguments: str) -> list[str]:
    """`python <script> <arguments>` with this interpreter; `script` is relative to the repository root."""
    return [sys.executable, str(REPO_ROOT / script), *arguments]


def start_service(
    script: str,
    settings: Mapping[str, str],
    log_path: Path,
    port: int | None = None,
    name: str | None = None,
    own_group: bool = False,
) -> ServiceProcess:
    """`python <script>`, a service serving HTTP on `port` (a free one by default).

    It runs one worker of four threads unless `settings` say otherwise, and stops without a drain
    (no load balancer waits for its /readyz); `name` (by default its folder's) is what messages call
    it; `own_group` as for ServiceProcess.
    """
    port = port or free_port()
    defaults = {
        "MONTY_PORT": str(port),
        "MONTY_WORKERS": "1",
        "MONTY_THREADS": "4",
        "MONTY_DRAIN_SECONDS": "0",
    }
    name = name or Path(script).parent.name
    return ServiceProcess(name, python_command(script), defaults | dict(settings), log_path, port, own_group)


def run_to_exit(
    script: str, settings: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python <script>` with `settings`, run until it exits; what it printed is captured."""
    return subprocess.run(
        python_command(script),
        cwd=REPO_ROOT,
        env=environment(settings),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def responds(url: str, status: int | None = 200) -> bool:
    """Whether `url` answers a GET (with `status`, unless None)."""
    try:
        answer = requests.get(url, timeout=2)
    except requests.RequestException:
        return False
    return status is None or answer.status_code == status


def stop_all(processes: Sequence[ServiceProcess]) -> None:
    """SIGTERM every process still running, newest first, then wait for each."""
    for process in reversed(processes):
        process.terminate()
    for process in reversed(processes):
        process.stop()


def first_to_stop(processes: Sequence[ServiceProcess]) -> ServiceProcess:
    """Wait as long as it takes for one of `processes` to exit; that one."""
    wait_until(lambda: any(not process.running for process in processes), math.inf, "a process to exit", 0.5)
    return next(process for process in processes if not process.running)
