"""The compose file rendered by Docker Compose itself (`config`, no engine needed): the quick start by
default, and the "cluster" profile's shape: three RabbitMQ nodes, replicas behind HAProxy, quorum
queues, every broker client on all three nodes, a drain longer than HAProxy takes to notice it."""

import re
from pathlib import Path
from typing import Any

import pytest

from support.compose import REQUIRED, render, rendered
from support.drain import stop_bound
from support.haproxy import SHIPPED_CONFIG, sections
from support.paths import REPO_ROOT

FOLDER = REPO_ROOT / "Deployment/Docker/MontyExchangeMicroservice"
SINGLE = {"rabbitmq", "users", "auth", "exchange", "archive-worker", "archive"}
SHARED = {"postgres", "redis"}
NODES = {"rabbit-1", "rabbit-2", "rabbit-3"}
# The cluster's HTTP services and the port each serves (and HAProxy fronts).
BALANCED = {"cluster-exchange": 9047, "cluster-users": 9048, "cluster-auth": 9049, "cluster-archive": 9050}
BROKER_CLIENTS = {"cluster-exchange", "cluster-archive", "cluster-archive-worker"}


@pytest.fixture(scope="module")
def cluster() -> dict[str, Any]:
    """The project as `--profile cluster` renders it."""
    return rendered("--profile", "cluster")


def seconds(duration: str) -> float:
    """A compose duration such as "30s" or "1m30s"."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", duration)
    assert duration, duration
    assert parts is not None, duration
    return int(parts.group(1) or 0) * 60 + float(parts.group(2) or 0)


def haproxy_settings() -> dict[str, list[str]]:
    """Each section of the shipped haproxy.cfg: its lines."""
    return dict(sections(SHIPPED_CONFIG.read_text()))


def test_the_quick_start_is_the_default() -> None:
    """Without a profile, the single-node services run, with one broker URL, and no cluster service."""
    services = rendered()["services"]
    assert set(services) == SINGLE | SHARED
    assert services["exchange"]["environment"]["MONTY_AMQP_URL"].endswith("@rabbitmq:5672/")


def test_the_cluster_profile_runs_three_nodes_replicas_and_a_balancer(cluster: dict[str, Any]) -> None:
    """Three RabbitMQ nodes, HAProxy, and two or more replicas of each service; none of the single
    node's services; only the balancer publishes ports, and the management page on loopback only."""
    services = cluster["services"]
    assert set(services) == NODES | SHARED | set(BALANCED) | {"cluster-archive-worker", "lb"}
    for name in [*BALANCED, "cluster-archive-worker"]:
        assert services[name]["deploy"]["replicas"] >= 2, name
        assert "ports" not in services[name], name
    for name in NODES:
        assert "ports" not in services[name], name
    published = {(port.get("host_ip", ""), port["published"]) for port in services["lb"]["ports"]}
    assert published == {("", str(port)) for port in BALANCED.values()} | {("127.0.0.1", "8404")}
    assert re.fullmatch(r"haproxy:\d+\.\d+", services["lb"]["image"])


def test_the_nodes_form_one_cluster_with_quorum_queues(cluster: dict[str, Any]) -> None:
    """Each node has its own host name and data volume, the shared cookie and the dedicated user, and
    rabbitmq.conf lists the three by name (classic_config) and makes quorum the default queue type."""
    services = cluster["services"]
    config_file = FOLDER / "rabbitmq.conf"
    config = dict(
        line.split(" = ", 1)
        for line in config_file.read_text().splitlines()
        if " = " in line and line[0] != "#"
    )
    assert config["cluster_formation.peer_discovery_backend"] == "classic_config"
    listed = {
        value for key, value in config.items() if key.startswith("cluster_formation.classic_config.nodes.")
    }
    assert config["default_queue_type"] == "quorum"
    hostnames, volumes = set(), set()
    for name in NODES:
        node = services[name]
        assert re.fullmatch(r"rabbitmq:3\.\d+-management", node["image"])
        hostnames.add(node["hostname"])
        environment = node["environment"]
        assert environment["RABBITMQ_ERLANG_COOKIE"] == REQUIRED["MONTY_RABBITMQ_ERLANG_COOKIE"]
        assert environment["RABBITMQ_DEFAULT_USER"] == REQUIRED["MONTY_RABBITMQ_USER"]
        assert environment["RABBITMQ_DEFAULT_PASS"] == REQUIRED["MONTY_RABBITMQ_PASSWORD"]
        mounts = {volume["target"]: volume["source"] for volume in node["volumes"]}
        assert Path(mounts["/etc/rabbitmq/conf.d/20-monty-cluster.conf"]) == config_file
        volumes.add(mounts["/var/lib/rabbitmq"])
    assert listed == {f"rabbit@{hostname}" for hostname in hostnames}
    assert len(hostnames) == len(volumes) == 3


def test_every_broker_client_uses_the_three_nodes_and_quorum_queues(cluster: dict[str, Any]) -> None:
    """MONTY_AMQP_URLS names the three nodes as the dedicated user, MONTY_QUEUE_TYPE is quorum, and no
    service of the profile is left on a single MONTY_AMQP_URL."""
    services = cluster["services"]
    user, password = REQUIRED["MONTY_RABBITMQ_USER"], REQUIRED["MONTY_RABBITMQ_PASSWORD"]
    nodes = {services[name]["hostname"] for name in NODES}
    clients = {name for name, s in services.items() if "MONTY_AMQP_URLS" in s.get("environment", {})}
    assert clients == BROKER_CLIENTS
    for name in clients:
        environment = services[name]["environment"]
        urls = [url.strip() for url in environment["MONTY_AMQP_URLS"].split(",")]
        assert {url for url in urls} == {f"amqp://{user}:{password}@{node}:5672/" for node in nodes}, name
        assert environment["MONTY_QUEUE_TYPE"] == "quorum", name
    assert not any("MONTY_AMQP_URL" in s.get("environment", {}) for s in services.values())


def test_the_balancer_checks_readyz_and_keeps_no_client_on_one_replica(cluster: dict[str, Any]) -> None:
    """haproxy.cfg (mounted into lb) fronts each service's replicas on its port, checks /readyz,
    buffers requests, and has no cookie or stick table; the services believe its X-Forwarded-For."""
    lb = cluster["services"]["lb"]
    mounts = {volume["target"]: volume["source"] for volume in lb["volumes"]}
    assert Path(mounts["/usr/local/etc/haproxy/haproxy.cfg"]) == SHIPPED_CONFIG
    settings = haproxy_settings()
    defaults = settings["defaults"]
    assert "option httpchk GET /readyz" in defaults
    assert "http-check expect status 200" in defaults
    assert "option http-buffer-request" in defaults
    assert any(line.startswith("default-server check ") for line in defaults)
    every_line = [line for lines in settings.values() for line in lines]
    assert not [
        line for line in every_line if line.split()[0] in ("cookie", "stick", "stick-table", "hash-type")
    ]
    assert "balance roundrobin" in defaults
    for service, port in BALANCED.items():
        name = service.removeprefix("cluster-")
        assert f"bind :{port}" in settings[f"frontend {name}"]
        [template] = [line for line in settings[f"backend {name}"] if line.startswith("server-template ")]
        assert template.split()[3] == f"{service}:{port}", template
        assert cluster["services"][service]["environment"]["MONTY_TRUSTED_PROXIES"] == "1"


def test_the_drain_outlasts_the_health_check_and_fits_the_grace_period(cluster: dict[str, Any]) -> None:
    """MONTY_DRAIN_SECONDS is longer than HAProxy takes to take a replica out (fall times inter, plus a
    check's timeout), and stop_grace_period is longer than the whole stop (drain, requests in flight,
    exit)."""
    defaults = haproxy_settings()["defaults"]
    [server] = [line.split() for line in defaults if line.startswith("default-server ")]
    inter = seconds(server[server.index("inter") + 1])
    fall = int(server[server.index("fall") + 1])
    [check_timeout] = [seconds(line.split()[2]) for line in defaults if line.startswith("timeout check ")]
    detection = fall * inter + check_timeout
    for name in [*BALANCED, "cluster-archive-worker"]:
        service = cluster["services"][name]
        drain = float(service["environment"]["MONTY_DRAIN_SECONDS"])
        assert drain > detection, (name, drain, detection)
        assert seconds(service["stop_grace_period"]) > stop_bound(service["environment"]), name


@pytest.mark.parametrize("variable", sorted(REQUIRED))
@pytest.mark.parametrize("profile", ["single", "cluster"])
def test_every_secret_is_required_in_either_profile(variable: str, profile: str) -> None:
    """With any one of the required variables unset, compose refuses the file, naming it: no secret
    has a default."""
    result = render("--profile", profile, unset=variable)
    assert result.returncode != 0
    assert f"required variable {variable} is missing" in result.stderr, result.stderr
