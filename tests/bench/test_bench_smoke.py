"""`bench/run.py` end to end in a few seconds: rates recorded, chart drawn, nothing left behind."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pika.exceptions import ChannelClosedByBroker

from support.broker_admin import admin_channel
from support.paths import REPO_ROOT

# One scenario of each kind the smoke run can afford: HTTP publish and consume on the gateway, receive
# then ack (single and batch), the seed design, the no-op app, the gateway and the no-op app under
# granian, and raw pika (the management API is left out: enabling it is slow).
SCENARIOS = [
    "gateway-publish", "gateway-publish-granian", "gateway-consume", "gateway-receive-ack",
    "gateway-receive-ack-batch", "seed-publish", "noop", "noop-granian", "pika-confirms",
]  # fmt: skip
RECEIVE_ACK = ["gateway-receive-ack", "gateway-receive-ack-batch"]


def _run_harness(arguments: list[str]) -> tuple[int, str]:
    """Run the harness; on a hang, SIGTERM lets it stop its servers and delete its queue first."""
    process = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "bench/run.py"), *arguments],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        process.terminate()
        output, _ = process.communicate(timeout=60)
        pytest.fail(f"the harness did not finish in 90 s:\n{output}")
    return process.returncode, output


def test_short_run_records_a_rate_for_every_scenario(tmp_path: Path, amqp_url: str) -> None:
    """One second per scenario at 4 connections: exit 0, non-zero rates in the JSON, a PNG chart."""
    chart = tmp_path / "chart.png"
    # Short leases: the harness waits for those the receive+ack loads leave behind after each run.
    code, output = _run_harness(
        ["--duration", "1", "--connections", "4", "--visibility", "3", "--scenarios", ",".join(SCENARIOS),
         "--amqp-url", amqp_url, "--results-dir", str(tmp_path), "--chart", str(chart)]
    )  # fmt: skip
    assert code == 0, output
    record = json.loads((tmp_path / "latest.json").read_text())
    rows = {row["scenario"]: row for row in record["measurements"]}
    assert set(rows) == set(SCENARIOS)
    for name, row in rows.items():
        assert row["skipped"] is None, name
        rate = row["requests_per_s"] if row["kind"] == "noop" else row["messages_per_s"]
        assert (rate or 0) > 0, (name, row)
    assert rows["gateway-consume"]["ran_dry"] is False
    # Leases left unacked came back before the queue was counted (a count the acks do not explain
    # fails the run); a single message took a receive and an ack (acks still on the way aside).
    for name in RECEIVE_ACK:
        assert rows[name]["released"] is not None, rows[name]
    single = rows["gateway-receive-ack"]
    assert single["requests"] >= 2 * single["messages"] - 4, single
    assert record["machine"]["cpu_count"] >= 1
    assert "gateway single publish / seed baseline publish" in output
    # The server-choice ratios have both sides at the one level (JSON keys are strings).
    ratios = {ratio["name"]: ratio["by_connections"] for ratio in record["ratios"]}
    for server in ["no-op Flask", "gateway single publish"]:
        name = f"{server} granian / gunicorn (req/s)"
        assert (ratios[name]["4"] or 0) > 0, (name, ratios[name])
    for name in ["gateway receive + ack / single consume (msgs/s)",
                 "gateway batch receive + ack / single consume (msgs/s)"]:  # fmt: skip
        assert (ratios[name]["4"] or 0) > 0, (name, ratios[name])
    assert chart.read_bytes().startswith(b"\x89PNG")
    # The run's own queue is gone: a passive declare of it is refused.
    with pytest.raises(ChannelClosedByBroker), admin_channel(amqp_url) as channel:
        channel.queue_declare(queue=record["settings"]["queue"], passive=True)
