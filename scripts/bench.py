"""Benchmark: the exchange service against the seed's connection-per-request design, in one run.

Both servers run under the same gunicorn settings on this machine and are loaded in turn by wrk
on loopback. The machine is shared and noisy, so the figures that matter are the ratios between
servers measured in the same run, not the absolute rates.

The same run also measures what checking bodies against a JSON Schema costs: the exchange publishes
an order message without a schema, and again started with MONTY_MESSAGE_SCHEMA set to the example
order schema, which the order message matches.

    python scripts/bench.py [--duration 10] [--connections 32] [--rounds 2]
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pika
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[1]
AMQP_URL = os.environ.get("MONTY_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
BODY = '{"order": 1234, "items": ["a", "b"], "note": "benchmark"}'
MESSAGE_SCHEMA = ROOT / "Microservices/ExchangeMicroservice/schemas/order-message.schema.json"
ORDER_BODY = (
    '{"order_id": "A-1234", "customer": "bench", "items": [{"sku": "ABC-1", "qty": 2, "unit_price": 9.5}, '
    '{"sku": "XYZ-22", "qty": 1, "unit_price": 19.99}], "note": "benchmark"}'
)
# The scenarios each server is loaded with; "monty-schema" is the exchange checking bodies.
SCENARIOS = {
    "seed": ("publish", "consume"),
    "monty": ("publish", "consume", "publish-order"),
    "monty-schema": ("publish-order",),
}
BODIES = {"publish": BODY, "publish-order": ORDER_BODY}


@dataclass
class Result:
    """One wrk run."""

    server: str
    scenario: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


class BenchKeys:
    """A signing key whose JWKS is served on loopback, standing in for the auth service."""

    def __init__(self) -> None:
        """Generate the key and serve its JWKS."""
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes_raw()
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).rstrip(b"=").decode()
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        body = json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.jwks_url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"

    def token(self) -> str:
        """An admin's token valid for an hour."""
        now = int(time.time())
        claims = {
            "iss": "montyexchange-auth",
            "aud": "montyexchange",
            "sub": "bench",
            "roles": ["admin"],
            "iat": now,
            "exp": now + 3600,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": self.kid})


def free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    kind: str, port: int, names: dict[str, str], workers: int, threads: int, jwks_url: str
) -> subprocess.Popen[bytes]:
    """Start the seed baseline or the exchange service (with the message schema for monty-schema)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONTY_")}
    env.update(names, MONTY_AMQP_URL=AMQP_URL, MONTY_PORT=str(port), MONTY_JWKS_URL=jwks_url)
    env.update(MONTY_WORKERS=str(workers), MONTY_THREADS=str(threads), MONTY_LOG_LEVEL="WARNING")
    if kind == "monty-schema":
        env["MONTY_MESSAGE_SCHEMA"] = str(MESSAGE_SCHEMA)
    if kind == "seed":
        command = [
            sys.executable, "-m", "gunicorn", "--chdir", str(ROOT / "scripts"), "-k", "gthread",
            "-w", str(workers), "--threads", str(threads), "-b", f"127.0.0.1:{port}",
            "--log-level", "warning", "--no-control-socket", "seed_baseline:app",
        ]  # fmt: skip
    else:
        command = [sys.executable, str(ROOT / "Microservices/ExchangeMicroservice/app.py")]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/Consume", timeout=2)
            return process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{kind} server did not start")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop a server."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _millis(text: str) -> float:
    """wrk's latency ('850.00us', '1.20ms', '2.01s') in milliseconds."""
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, scenario: str, duration: int, connections: int, server: str, token: str) -> Result:
    """Load `url` with wrk and parse its report."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        # The seed design ignores the token; the exchange verifies it on every request.
        script.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
        if scenario in BODIES:
            body = BODIES[scenario].replace('"', '\\"')
            script.write(
                f'wrk.method = "POST"\nwrk.body = "{body}"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
        path = "/Message" if scenario in BODIES else "/Consume"
    try:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name, url + path],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    p50 = _millis(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _millis(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    return Result(server, scenario, rps, p50, p99, total, errors)


def check_schema_is_applied(url: str, token: str) -> None:
    """Stop unless the server publishes the order message and refuses one the schema does not allow."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    matching = requests.post(url + "/Message", data=ORDER_BODY, headers=headers, timeout=10)
    refused = requests.post(url + "/Message", data=BODY, headers=headers, timeout=10)
    if matching.status_code != 200 or refused.status_code != 422:
        raise SystemExit(f"the message schema is not applied ({matching.status_code}, {refused.status_code})")


def purge(names: dict[str, str]) -> None:
    """Empty the benchmark's queue, so each consume run starts alike."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.queue_purge(names["MONTY_QUEUE"])
    connection.close()


def drop(names: dict[str, str]) -> None:
    """Delete the benchmark's queue and exchange."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.queue_delete(names["MONTY_QUEUE"])
    channel.exchange_delete(names["MONTY_EXCHANGE"])
    connection.close()


def main() -> int:
    """Run every scenario against both servers, alternating, and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="concurrent HTTP connections")
    parser.add_argument("--rounds", type=int, default=2, help="runs per server and scenario")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both servers")
    parser.add_argument("--threads", type=int, default=16, help="threads per worker for both servers")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 1

    tag = uuid.uuid4().hex[:8]
    names = {
        "MONTY_EXCHANGE": f"bench.{tag}.exchange",
        "MONTY_QUEUE": f"bench-{tag}-queue",
        "MONTY_ROUTING_KEY": "message",
    }
    results: list[Result] = []
    keys = BenchKeys()
    token = keys.token()
    try:
        for _round in range(args.rounds):
            for server, scenarios in SCENARIOS.items():
                port = free_port()
                process = start_server(server, port, names, args.workers, args.threads, keys.jwks_url)
                url = f"http://127.0.0.1:{port}"
                try:
                    if server == "monty-schema":
                        check_schema_is_applied(url, token)
                    for scenario in scenarios:
                        purge(names)
                        result = run_wrk(url, scenario, args.duration, args.connections, server, token)
                        print(
                            f"{server:12} {scenario:13} {result.rps:9.0f} req/s  "
                            f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                            f"errors {result.errors}",
                            file=sys.stderr,
                        )
                        results.append(result)
                finally:
                    stop_server(process)
    finally:
        drop(names)
        keys.server.shutdown()

    print(
        f"\nwrk -t2 -c{args.connections} -d{args.duration}s, {args.rounds} rounds, gunicorn gthread "
        f"{args.workers} workers x {args.threads} threads, {os.cpu_count()} cores, median of rounds\n"
    )
    columns = ["scenario", "seed design (req/s)", "MontyExchange (req/s)", "ratio"]
    columns += ["MontyExchange p50 / p99 (ms)", "errors"]
    print("| " + " | ".join(columns) + " |")
    print("|---|---:|---:|---:|---|---:|")
    for scenario in ("publish", "consume"):
        seed = [r for r in results if r.server == "seed" and r.scenario == scenario]
        ours = [r for r in results if r.server == "monty" and r.scenario == scenario]
        seed_rps = statistics.median(r.rps for r in seed)
        our_rps = statistics.median(r.rps for r in ours)
        p50 = statistics.median(r.p50_ms for r in ours)
        p99 = statistics.median(r.p99_ms for r in ours)
        errors = sum(r.errors for r in ours)
        ratio = our_rps / seed_rps
        row = [
            scenario,
            f"{seed_rps:.0f}",
            f"{our_rps:.0f}",
            f"{ratio:.1f}x",
            f"{p50:.2f} / {p99:.2f}",
            str(errors),
        ]
        print("| " + " | ".join(row) + " |")
    print_schema_cost(results)
    return 0


def _median(results: list[Result], server: str, scenario: str, field: str) -> float:
    """The median of `field` over the runs of `server` on `scenario`."""
    values: list[float] = [
        getattr(r, field) for r in results if r.server == server and r.scenario == scenario
    ]
    return statistics.median(values)


def print_schema_cost(results: list[Result]) -> None:
    """Print the order message's publish rate without and with MONTY_MESSAGE_SCHEMA, and their ratio."""
    plain = _median(results, "monty", "publish-order", "rps")
    checked = _median(results, "monty-schema", "publish-order", "rps")
    p50 = _median(results, "monty-schema", "publish-order", "p50_ms")
    p99 = _median(results, "monty-schema", "publish-order", "p99_ms")
    errors = sum(r.errors for r in results if r.scenario == "publish-order")
    schema = MESSAGE_SCHEMA.name
    print(
        f"\nThe {len(ORDER_BODY)}-byte order message, published without a schema and checked by {schema}:\n"
    )
    columns = ["scenario", "no schema (req/s)", "MONTY_MESSAGE_SCHEMA set (req/s)", "ratio"]
    columns += ["with schema p50 / p99 (ms)", "errors"]
    print("| " + " | ".join(columns) + " |")
    print("|---|---:|---:|---:|---|---:|")
    row = [
        "publish order",
        f"{plain:.0f}",
        f"{checked:.0f}",
        f"{checked / plain:.2f}x",
        f"{p50:.2f} / {p99:.2f}",
        str(errors),
    ]
    print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    sys.exit(main())
