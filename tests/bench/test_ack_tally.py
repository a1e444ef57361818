"""A receive+ack load's count of messages agrees with its acks, or the run is refused."""

import pytest

from ack_tally import AckTally, LeakedLeases
from loads import HttpLoad, lua_script, parse_report

WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:9/Queues/q/receive?max=1
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.00ms  100.00us   2.00ms   90.00%
  Latency Distribution
     50%    1.00ms
     75%    1.10ms
     90%    1.20ms
     99%    2.00ms
  1000 requests in 1.00s, 100.00KB read
Requests/sec:   1000.00
Transfer/sec:    100.00KB
Receipts acked: 498, refused: 1, unanswered: 2
"""


def test_the_report_carries_the_tally_the_script_printed() -> None:
    """The line receive_ack.lua's done() prints is read beside wrk's own figures."""
    report = parse_report(WRK_OUTPUT)
    assert report.requests == 1000
    assert report.acks == AckTally(acked=498, refused=1, unanswered=2)


def test_a_plain_load_has_no_tally() -> None:
    """Loads that do not ack report none."""
    plain = WRK_OUTPUT.replace("Receipts acked: 498, refused: 1, unanswered: 2\n", "")
    assert parse_report(plain).acks is None


@pytest.mark.parametrize("consumed", [498, 499, 500])
def test_messages_between_the_acks_seen_and_those_in_flight_are_accepted(consumed: int) -> None:
    """Acks still on the way when wrk stopped may or may not have taken their messages."""
    AckTally(acked=498, refused=1, unanswered=2).check(consumed)


def test_more_messages_gone_than_acked_means_leases_still_out() -> None:
    """A queue short of messages nobody acked still has leases out: the count is refused."""
    with pytest.raises(LeakedLeases, match="3 more messages"):
        AckTally(acked=498, refused=1, unanswered=2).check(503)


def test_fewer_messages_gone_than_acked_is_refused_too() -> None:
    """Every ack the load saw succeed removed a message; a count below them is wrong."""
    with pytest.raises(LeakedLeases, match="fewer"):
        AckTally(acked=498, refused=1, unanswered=2).check(497)


def test_the_ack_script_follows_the_settings_wrk_needs() -> None:
    """The generated lines set method, headers and the ack path before the static script uses them."""
    receive = "http://h/Queues/q/receive?max=1"
    script = lua_script(HttpLoad(receive, "POST", None, {"Authorization": "Bearer t"}, "/Queues/q/ack"))
    settings, logic = script.split("ack_path = [=[/Queues/q/ack]=]\n")
    assert "wrk.method = [=[POST]=]" in settings
    assert "wrk.headers[ [=[Authorization]=] ] = [=[Bearer t]=]" in settings
    for function in ["request()", "response(", "done("]:
        assert f"function {function}" in logic
