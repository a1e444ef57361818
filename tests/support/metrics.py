"""Reading a service's GET /metrics in tests."""

import time

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
