"""The run as a PNG: messages per second and p99 latency of each HTTP scenario at each level."""

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: render straight to a file

import matplotlib.pyplot as plt  # after use(): the backend is chosen before pyplot loads
from matplotlib.axes import Axes

from measure import Measurement
from report import ORDER


def _rate(measurement: Measurement) -> float | None:
    """Messages per second; requests per second for the no-op app, which carries no message."""
    if measurement.kind == "noop":
        return measurement.requests_per_s
    return measurement.messages_per_s


def _p99(measurement: Measurement) -> float | None:
    """The 99th percentile latency in milliseconds."""
    return measurement.p99_ms


def _bars(
    axes: Axes,
    measurements: list[Measurement],
    levels: list[int],
    figure: Callable[[Measurement], float | None],
) -> None:
    """Grouped bars: one group per scenario with a figure, one bar per concurrency level."""
    labels = list(dict.fromkeys(m.label for m in measurements if figure(m)))
    width = 0.8 / len(levels)
    for index, level in enumerate(levels):
        values = []
        for label in labels:
            found = [m for m in measurements if m.label == label and m.connections == level]
            values.append((figure(found[0]) if found else None) or 0.0)
        positions = [x + (index - (len(levels) - 1) / 2) * width for x in range(len(labels))]
        axes.bar(positions, values, width, label=f"{level} connection{'' if level == 1 else 's'}")
    axes.set_xticks(range(len(labels)), labels, rotation=35, ha="right", fontsize=8)
    axes.set_yscale("log")
    axes.grid(axis="y", which="both", alpha=0.3)


def draw_chart(measurements: list[Measurement], levels: list[int], title: str, path: Path) -> None:
    """Save the chart of `measurements` to `path`; raw pika rates are drawn as horizontal lines."""
    measured = [m for m in measurements if m.skipped is None]
    # In the scenarios' order, so each granian group stands beside its gunicorn counterpart.
    http = sorted((m for m in measured if m.connections is not None), key=lambda m: ORDER[m.scenario])
    figure, (rates, latency) = plt.subplots(1, 2, figsize=(15, 6.5), layout="constrained")
    _bars(rates, http, levels, _rate)
    rates.set_title("messages/s, requests/s for the no-op app (log scale; higher is better)")
    in_process = [m for m in measured if m.connections is None and m.messages_per_s]
    for m, style, colour in zip(in_process, ["--", ":"], ["tab:red", "tab:purple"], strict=False):
        line = rates.axhline(m.messages_per_s or 0.0, linestyle=style, linewidth=1.2, color=colour)
        line.set_label(f"{m.label}: {m.messages_per_s or 0:,.0f}")
    rates.set_ylim(top=rates.get_ylim()[1] * 3)  # room above the raw pika lines for the legend
    rates.legend(fontsize=8, loc="upper left", ncols=2)
    _bars(latency, http, levels, _p99)
    latency.set_title("p99 latency, ms (log scale; lower is better)")
    figure.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
