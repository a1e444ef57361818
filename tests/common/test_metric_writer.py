"""Counts queued by request threads and written by one thread of the process: none lost, none late."""

import os
import threading

from monty_common.metric_writer import WRITE_INTERVAL, MetricWriter
from monty_common.metrics import ProcessId
from support.polling import wait_until


class Total:
    """A stand-in for a metric series: the sum of what it was given."""

    def __init__(self) -> None:
        """Nothing counted yet."""
        self.value = 0.0

    def inc(self, amount: float) -> None:
        """Add `amount` (called by one thread at a time: the writer's)."""
        self.value += amount


def test_counts_apply_at_once_until_deferred() -> None:
    """Outside multiprocess mode a count is applied by the counting thread itself."""
    total = Total()
    MetricWriter().apply(total.inc, 2)
    assert total.value == 2


def test_deferred_counts_from_many_threads_are_all_written_soon() -> None:
    """Sixteen threads counting at once lose nothing, and the writing thread applies the counts
    within a few WRITE_INTERVALs without anyone asking."""
    writer = MetricWriter()
    writer.defer()
    total = Total()

    def count() -> None:
        for _ in range(5000):
            writer.apply(total.inc, 1)

    threads = [threading.Thread(target=count) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_until(lambda: total.value == 16 * 5000, 40 * WRITE_INTERVAL, "every count written")


def test_write_pending_applies_what_is_queued() -> None:
    """A scrape (or the process's exit) writes what the thread has not yet."""
    writer = MetricWriter()
    writer.defer()
    total = Total()
    writer._thread = threading.Thread()  # a writing thread that never runs: only write_pending writes
    writer.apply(total.inc, 3)
    assert total.value == 0
    writer.write_pending()
    assert total.value == 3


def test_a_forked_child_starts_with_nothing_queued() -> None:
    """Counts queued in the parent are not written again by a child it forks."""
    writer = MetricWriter()
    writer.defer()
    writer._thread = threading.Thread()
    total = Total()
    writer.apply(total.inc, 1)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        writer.write_pending()
        os.write(write, str(int(total.value)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 16) == b"0"
    os.close(read)


def test_the_process_id_is_the_forked_childs_own() -> None:
    """The id prometheus-client files a process's counts under is read once, and again in a child:
    two server processes never share one file."""
    process_id = ProcessId()
    assert process_id() == os.getpid()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, str(process_id()).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert int(os.read(read, 16)) == pid
    os.close(read)


def test_a_count_that_fails_does_not_stop_the_others() -> None:
    """A count the metric refuses is logged and dropped; the writing thread goes on writing."""
    writer = MetricWriter()
    writer.defer()
    total = Total()

    def refused(_amount: float) -> None:
        raise ValueError("counters can only be incremented by non-negative amounts")

    writer.apply(refused, -1)
    for _ in range(100):
        writer.apply(total.inc, 1)
    wait_until(lambda: total.value == 100, 40 * WRITE_INTERVAL, "the counts after the refused one")
    writer.apply(total.inc, 1)
    wait_until(lambda: total.value == 101, 40 * WRITE_INTERVAL, "a count made later")
