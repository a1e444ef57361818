"""Reading a service's GET /metrics in tests."""

import re
import time
from collections.abc import Iterable
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from monty_common.metric_writer import WRITE_INTERVAL

# Every sample of one scrape, by name and labels.
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample of a /metrics answer, by name and labels, once every server process has written
    the counts of what it answered so far (each writes them within WRITE_INTERVAL)."""
    time.sleep(5 * WRITE_INTERVAL)
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return parse(response.text)


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(number for (sample, have), number in samples.items() if sample == name and wanted <= have)


# A file prometheus-client's multiprocess mode writes (counter_<pid>.db, gauge_livemax_<pid>.db, ...).
METRIC_FILE = re.compile(r"(counter|histogram|gauge_\w+)_\d+\.db")


def metric_folders(pids: Iterable[int]) -> set[Path]:
    """The folders holding the metric files that the processes `pids` have mapped in memory."""
    found: set[Path] = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue  # it exited meanwhile
        for line in maps.splitlines():
            fields = line.split(maxsplit=5)
            if len(fields) == 6:
                path = Path(fields[5].removesuffix(" (deleted)"))
                if METRIC_FILE.fullmatch(path.name):
                    found.add(path.parent)
    return found
