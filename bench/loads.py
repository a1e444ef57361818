"""HTTP load with wrk: the Lua script that shapes each request, and what wrk reports."""

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ack_tally import AckTally

# The script of receive+ack loads, after the lines lua_script writes for the load's settings.
RECEIVE_ACK_SCRIPT = Path(__file__).with_name("receive_ack.lua")


@dataclass(frozen=True)
class HttpLoad:
    """The one request wrk sends over and over, or with ack_path, a receive whose receipts are acked."""

    url: str
    method: str = "GET"
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    ack_path: str | None = None


@dataclass(frozen=True)
class WrkReport:
    """What one wrk run measured."""

    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    acks: AckTally | None = None  # receive+ack loads only


def _lua_string(text: str) -> str:
    """`text` as a Lua long string, whose level of `=` no closing bracket inside it matches."""
    level = 1
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def lua_script(load: HttpLoad) -> str:
    """The wrk script setting method, body and headers (wrk takes the path from the URL).

    A receive+ack load then names its ack path and goes on with receive_ack.lua.
    """
    lines = [f"wrk.method = {_lua_string(load.method)}"]
    if load.body is not None:
        lines.append(f"wrk.body = {_lua_string(load.body)}")
    # The spaces keep "[[" from opening a long string where an index was meant.
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in load.headers.items()]
    if load.ack_path is not None:
        lines += [f"ack_path = {_lua_string(load.ack_path)}", RECEIVE_ACK_SCRIPT.read_text()]
    return "\n".join(lines) + "\n"


def _find(pattern: str, output: str) -> str:
    """The first group of `pattern` in wrk's output; a missing figure means wrk failed."""
    match = re.search(pattern, output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk's report has no match for {pattern!r}:\n{output}")
    return match.group(1)


def _millis(text: str) -> float:
    """wrk's latency ('850.00us', '1.20ms', '2.01s', '1.00m') in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise RuntimeError(f"unreadable latency from wrk: {text!r}")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[match.group(2)]


def parse_report(output: str) -> WrkReport:
    """Read request count, duration, rate, median and 99th percentile latency, and errors."""
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return WrkReport(
        requests=int(_find(r"(\d+) requests in", output)),
        seconds=_millis(_find(r"\d+ requests in ([\d.]+\w+),", output)) / 1000,
        requests_per_s=float(_find(r"Requests/sec:\s+([\d.]+)", output)),
        p50_ms=_millis(_find(r"^\s+50%\s+(\S+)", output)),
        p99_ms=_millis(_find(r"^\s+99%\s+(\S+)", output)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
        acks=AckTally.parse(output),
    )


def run_wrk(load: HttpLoad, connections: int, seconds: int) -> WrkReport:
    """Load `load.url` with `connections` keep-alive connections for `seconds` and parse wrk's report."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        script = Path(folder) / "request.lua"
        script.write_text(lua_script(load))
        # Two load threads are enough for loopback; more would take CPU from the server under test.
        command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s"]
        command += ["--timeout", "10s", "--latency", "-s", str(script), load.url]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=seconds + 60)
    # wrk reports an error in its Lua script on stderr and goes on with plain GETs: stop instead.
    if done.returncode != 0 or done.stderr.strip():
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_report(done.stdout)
