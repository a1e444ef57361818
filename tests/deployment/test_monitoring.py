"""The "monitoring" profile: Prometheus scraping every service, Grafana provisioned with a dashboard
whose every query parses and names only metrics (and labels) the services serve."""

import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from support.compose import rendered
from support.paths import REPO_ROOT

MONITORING = REPO_ROOT / "Deployment/Monitoring"
DASHBOARD = MONITORING / "grafana/dashboards/montyexchange.json"
PROMETHEUS = MONITORING / "prometheus.yml"
PROVISIONING = MONITORING / "grafana/provisioning"
# Grafana's variables, as Prometheus would see them once Grafana replaced them.
VARIABLES = {"$__rate_interval": "5m", "$service": ".*"}
# Labels Prometheus adds to every scraped series, and the bucket bound of a histogram's series.
SCRAPE_LABELS = {"job", "instance"}
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def documented_metrics() -> dict[str, set[str]]:
    """Every series name of the README's metrics table, with the labels it carries."""
    readme = (REPO_ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(monty_\w+)` \| (counter|gauge|histogram) \|([^|]*)\|", readme, re.M)
    assert rows, "the README's metrics table is missing"
    metrics: dict[str, set[str]] = {}
    for name, kind, labels in rows:
        names = set(re.findall(r"`(\w+)`", labels)) | SCRAPE_LABELS
        if kind == "histogram":
            metrics[name + "_bucket"] = names | {"le"}
            metrics |= {name + suffix: names for suffix in HISTOGRAM_SUFFIXES[1:]}
        else:
            metrics[name] = names
    return metrics


def served_names() -> set[str]:
    """Every metric family name written as a string in the services' code."""
    text = "\n".join(path.read_text() for path in (REPO_ROOT / "Microservices").rglob("*.py"))
    return set(re.findall(r"\"(monty_[a-z_]+)\"", text))


def dashboard() -> dict[str, Any]:
    """The dashboard JSON, parsed."""
    document: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return document


def queries() -> list[tuple[str, str]]:
    """Each panel's title and each of its PromQL expressions, Grafana's variables replaced."""
    found = []
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            expression = target["expr"]
            for variable, value in VARIABLES.items():
                expression = expression.replace(variable, value)
            found.append((panel["title"], expression))
    return found


def selectors(expression: str) -> list[Any]:
    """The vector selectors of a PromQL expression (which the parser must accept)."""
    found: list[Any] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expression), visit)
    return found


def grouping_labels(expression: str) -> set[str]:
    """The labels a `by (...)` or `without (...)` clause names."""
    return {
        label.strip()
        for clause in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expression)
        for label in clause.split(",")
        if label.strip()
    }


def test_the_dashboard_is_a_grafana_dashboard_on_a_chosen_datasource() -> None:
    """It parses, has a uid and a recent schema, and every panel and query reads the datasource
    variable (a Prometheus, the provisioned one by default), not a uid fixed in the file."""
    document = dashboard()
    assert document["uid"] == "montyexchange"
    assert document["schemaVersion"] >= 39
    variables = {variable["name"]: variable for variable in document["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    choose = {"type": "prometheus", "uid": "${datasource}"}
    ids = [panel["id"] for panel in document["panels"]]
    assert len(ids) == len(set(ids))
    for panel in document["panels"]:
        assert panel["datasource"] == choose, panel["title"]
        assert panel["targets"], panel["title"]
        assert all(target["datasource"] == choose for target in panel["targets"]), panel["title"]
        assert len({target["refId"] for target in panel["targets"]}) == len(panel["targets"])


def test_the_dashboard_shows_what_the_issue_asks() -> None:
    """Published and consumed rates, latency quantiles, errors by status, the archive's depth and lag,
    reconnects and links, throttled logins, long polls and leases each have a query."""
    text = "\n".join(expression for _title, expression in queries())
    for wanted in [
        "rate(monty_messages_published_total[",
        "rate(monty_messages_consumed_total[",
        "histogram_quantile(0.5, sum by (le, route) (rate(monty_http_request_duration_seconds_bucket",
        "histogram_quantile(0.99, sum by (le, route) (rate(monty_http_request_duration_seconds_bucket",
        'status=~"4..|5.."',
        "monty_archive_queue_depth",
        "monty_archive_lag_seconds",
        "monty_broker_reconnects_total",
        "monty_broker_link_up",
        'monty_logins_total{outcome="throttled"}',
        "monty_long_polls_waiting",
        "sum by (outcome) (rate(monty_leases_total[",
    ]:
        assert wanted in text, wanted


@pytest.mark.parametrize(("title", "expression"), queries(), ids=[title for title, _ in queries()])
def test_every_query_parses_and_names_served_metrics_and_labels(title: str, expression: str) -> None:
    """Each expression is valid PromQL, and every metric and label it names is in the README's metrics
    table (which tests/metrics checks against what the services serve) and in the services' code."""
    metrics = documented_metrics()
    served = served_names()
    found = selectors(expression)
    assert found, expression
    labels: set[str] = set()
    for selector in found:
        assert selector.name in metrics, (title, selector.name)
        family = selector.name
        for suffix in HISTOGRAM_SUFFIXES:
            family = family.removesuffix(suffix)
        assert family in served, (title, family)
        labels |= {matcher.name for matcher in selector.matchers.matchers}
        allowed = metrics[selector.name]
        assert labels | grouping_labels(expression) <= allowed, (title, expression, allowed)


def test_a_query_naming_an_unknown_metric_or_label_is_caught() -> None:
    """The check above refuses a misspelt metric, a label the metric lacks, and broken PromQL."""
    metrics = documented_metrics()
    [selector] = selectors('rate(monty_messages_publish_total{outcome="confirmed"}[5m])')
    assert selector.name not in metrics
    assert "route" not in metrics["monty_messages_published_total"]
    with pytest.raises(ValueError, match=r"unclosed|unexpected"):
        promql_parser.parse("sum by (outcome (rate(monty_messages_published_total[5m]))")


def test_prometheus_scrapes_every_http_service_and_archive_worker_of_either_shape() -> None:
    """Each job looks up the single profile's service and the cluster profile's replicas by DNS, on
    the port the service listens on: every HTTP service of the compose file is scraped, and every
    archive worker on the metrics port it exposes to the compose network (published nowhere)."""
    config = yaml.safe_load(PROMETHEUS.read_text())
    single = rendered("--profile", "single")["services"]
    cluster = rendered("--profile", "cluster")["services"]
    targets: dict[str, int] = {}
    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics"
        for lookup in job["dns_sd_configs"]:
            assert lookup["type"] == "A"
            targets |= {name: lookup["port"] for name in lookup["names"]}
    http = {
        name: int(test[-1].split("127.0.0.1:")[1].split("/")[0])
        for services in (single, cluster)
        for name, service in services.items()
        if (test := service.get("healthcheck", {}).get("test")) and "127.0.0.1:" in test[-1]
    }
    assert http, "no service with an HTTP health check"
    exposed = {
        name: int(port)
        for services in (single, cluster)
        for name, service in services.items()
        for port in service.get("expose", [])
    }
    assert set(exposed) == {"archive-worker", "cluster-archive-worker"}
    assert all("ports" not in services.get(name, {}) for services in (single, cluster) for name in exposed)
    assert targets == http | exposed


def test_the_monitoring_profile_renders_and_provisions_grafana() -> None:
    """`--profile monitoring` adds Prometheus and Grafana from pinned official images, published on
    this host only, with the dashboard and its datasource mounted where the provisioning reads them;
    the admin password is a secret from the environment, never a default."""
    project = rendered("--profile", "single", "--profile", "monitoring")
    services = project["services"]
    assert re.fullmatch(r"prom/prometheus:v\d+\.\d+\.\d+", services["prometheus"]["image"])
    assert re.fullmatch(r"grafana/grafana:\d+\.\d+\.\d+", services["grafana"]["image"])
    for name in ("prometheus", "grafana"):
        assert services[name]["ports"], name
        assert all(port["host_ip"] == "127.0.0.1" for port in services[name]["ports"]), name
    mounts = {
        volume["target"]: Path(volume["source"])
        for name in ("prometheus", "grafana")
        for volume in services[name]["volumes"]
        if volume["type"] == "bind"
    }
    assert mounts["/etc/prometheus/prometheus.yml"] == PROMETHEUS
    assert mounts["/etc/grafana/provisioning"] == PROVISIONING
    provider = yaml.safe_load((PROVISIONING / "dashboards/montyexchange.yml").read_text())["providers"][0]
    assert mounts[provider["options"]["path"]] == DASHBOARD.parent
    [source] = yaml.safe_load((PROVISIONING / "datasources/prometheus.yml").read_text())["datasources"]
    assert source["uid"] == dashboard()["templating"]["list"][0]["current"]["value"]
    assert source["url"] == "http://prometheus:9090"
    environment = services["grafana"]["environment"]
    assert "GF_SECURITY_ADMIN_PASSWORD" not in environment
    [secret] = services["grafana"]["secrets"]
    assert environment["GF_SECURITY_ADMIN_PASSWORD__FILE"] == f"/run/secrets/{secret['source']}"
    assert project["secrets"][secret["source"]]["environment"] == "MONTY_GRAFANA_ADMIN_PASSWORD"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"


def test_the_quick_start_needs_no_monitoring_variable() -> None:
    """Without the profile nothing of it runs, and its password variable is not needed."""
    services = rendered()["services"]
    assert not {"prometheus", "grafana"} & set(services)
