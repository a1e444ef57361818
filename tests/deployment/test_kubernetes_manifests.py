"""The Kubernetes manifests, checked offline: the core kinds against Kubernetes' own schemas
(kubernetes-validate, strict), the RabbitmqCluster against the operator's CRD schema, and the
kustomization's references (files, Secrets, ConfigMaps, Services, ports) against what it holds, and
the Ingress's paths against the routes the services' apps serve."""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from support.drain import stop_bound
from support.ingress import ingress_backend
from support.paths import REPO_ROOT
from support.served_routes import sample_path, served_routes

FOLDER = REPO_ROOT / "Deployment/Kubernetes"
KUSTOMIZATION = FOLDER / "kustomization.yaml"
SECRET_EXAMPLE = FOLDER / "secret.example.yaml"
RABBITMQ_SCHEMA = Path(__file__).parent / "schemas/rabbitmqcluster-v1beta1.json"
# The oldest Kubernetes the manifests are meant for, and the newest the validator knows.
KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
# Kinds with no schema in kubernetes-validate: checked here otherwise.
CUSTOM_KINDS = {"RabbitmqCluster"}
# The Secret the operator makes for the cluster's default user, and the keys it holds.
OPERATOR_SECRET_KEYS = {"username", "password", "host", "port", "connection_string"}
HTTP_SERVICES = {"exchange": 9047, "users": 9048, "auth": 9049, "archive": 9050}
# Routes the services serve that the Ingress leaves unrouted (besides /metrics).
NOT_ROUTED_PREFIXES = ("/internal/", "/static/")


def documents(path: Path) -> list[dict[str, Any]]:
    """The non-empty YAML documents of `path`."""
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def kustomization() -> dict[str, Any]:
    """kustomization.yaml, parsed."""
    parsed: dict[str, Any] = yaml.safe_load(KUSTOMIZATION.read_text())
    return parsed


def objects() -> list[dict[str, Any]]:
    """Every object the kustomization's resources hold, in order."""
    return [document for name in kustomization()["resources"] for document in documents(FOLDER / name)]


def named(kind: str) -> dict[str, dict[str, Any]]:
    """The kustomization's objects of `kind`, by name."""
    return {o["metadata"]["name"]: o for o in objects() if o["kind"] == kind}


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    """A Deployment's containers."""
    found: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    return found


def environment(container: dict[str, Any]) -> dict[str, Any]:
    """A container's env entries by name (value, or valueFrom)."""
    return {entry["name"]: entry.get("value", entry.get("valueFrom")) for entry in container.get("env", [])}


def config_values(container: dict[str, Any]) -> dict[str, str]:
    """The values a container takes from the kustomization's ConfigMaps, then its own env."""
    configs = named("ConfigMap")
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        values |= configs[source["configMapRef"]["name"]]["data"]
    return values | {k: v for k, v in environment(container).items() if isinstance(v, str)}


def strict(schema: Any) -> Any:
    """`schema` refusing properties it does not name, as the API server drops them (a typo'd field
    would silently do nothing); maps left open (additionalProperties, preserve-unknown) stay open."""
    if isinstance(schema, dict):
        tightened = {key: strict(value) for key, value in schema.items()}
        names_every_field = "properties" in schema and "additionalProperties" not in schema
        if names_every_field and not schema.get("x-kubernetes-preserve-unknown-fields"):
            tightened["additionalProperties"] = False
        return tightened
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def test_the_kustomization_lists_files_that_exist_and_commits_no_secret() -> None:
    """Each resource file exists and holds objects with an apiVersion, kind and name; no Secret (nor
    a secretGenerator) is part of it: the real Secret is made apart, from secret.example.yaml."""
    listed = kustomization()["resources"]
    assert listed
    assert all((FOLDER / name).is_file() for name in listed)
    assert "secretGenerator" not in kustomization()
    assert SECRET_EXAMPLE.name not in listed
    for item in objects():
        assert all((item["apiVersion"], item["kind"], item["metadata"]["name"])), item
        assert item["kind"] != "Secret", item["metadata"]["name"]
    unlisted = (
        {p.name for p in FOLDER.glob("*.yaml")} - set(listed) - {KUSTOMIZATION.name, SECRET_EXAMPLE.name}
    )
    assert not unlisted, f"manifests the kustomization leaves out: {unlisted}"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_core_object_matches_the_kubernetes_schema(version: str) -> None:
    """Every object but the operator's validates, strictly (no unknown field), against Kubernetes'
    schemas, the example Secret included."""
    checked = 0
    for item in [*objects(), *documents(SECRET_EXAMPLE)]:
        if item["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(item, version, strict=True)
        checked += 1
    assert checked >= 15


def test_the_rabbitmq_cluster_matches_the_operator_schema() -> None:
    """The RabbitmqCluster validates against the operator's CRD schema (no unknown field), runs three
    nodes, and makes quorum the default queue type."""
    schema = json.loads(RABBITMQ_SCHEMA.read_text())
    [cluster] = named("RabbitmqCluster").values()
    assert cluster["apiVersion"] == "rabbitmq.com/v1beta1"
    jsonschema.validate(cluster, strict(schema))
    assert cluster["spec"]["replicas"] == 3
    assert "default_queue_type = quorum" in cluster["spec"]["rabbitmq"]["additionalConfig"].splitlines()


def test_the_operator_schema_catches_a_misspelt_field() -> None:
    """The strict schema refuses what the API server would silently drop."""
    schema = strict(json.loads(RABBITMQ_SCHEMA.read_text()))
    [cluster] = named("RabbitmqCluster").values()
    misspelt = {**cluster, "spec": {**cluster["spec"], "replica": 3}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(misspelt, schema)


def test_every_http_service_is_probed_sized_and_drains_in_time() -> None:
    """Each HTTP service's Deployment: readiness on /readyz and liveness on /healthz at its port,
    requests and limits, and a termination grace longer than preStop + the whole stop (drain, requests
    in flight, exit)."""
    deployments = named("Deployment")
    for name, port in HTTP_SERVICES.items():
        [container] = containers(deployments[name])
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": port}, name
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, name
        assert config_values(container)["MONTY_PORT"] == str(port)
        pause = 0
        if "lifecycle" in container:
            command = container["lifecycle"]["preStop"]["exec"]["command"]
            assert command[0] == "sleep", command
            pause = int(command[1])
        grace = deployments[name]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > pause + stop_bound(config_values(container)), name
    for deployment in deployments.values():
        for container in containers(deployment):
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), container["name"]
            assert "memory" in container["resources"]["limits"], container["name"]


def test_the_exchange_has_a_disruption_budget_and_an_autoscaler() -> None:
    """A PodDisruptionBudget selects the exchange's pods, and an autoscaling/v2 HPA scales its
    Deployment from at least two replicas."""
    labels = named("Deployment")["exchange"]["spec"]["template"]["metadata"]["labels"]
    [budget] = named("PodDisruptionBudget").values()
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    [autoscaler] = named("HorizontalPodAutoscaler").values()
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "exchange",
    }
    assert autoscaler["spec"]["minReplicas"] >= 2


def test_every_broker_client_lists_each_cluster_node_with_quorum_queues() -> None:
    """Each container with MONTY_AMQP_URLS names every node of the RabbitmqCluster (its StatefulSet's
    pods on the headless Service), logs in with the operator's user, and declares quorum queues."""
    [(cluster_name, cluster)] = named("RabbitmqCluster").items()
    nodes = {f"{cluster_name}-server-{i}.{cluster_name}-nodes" for i in range(cluster["spec"]["replicas"])}
    clients = 0
    for deployment in named("Deployment").values():
        for container in containers(deployment):
            values = config_values(container)
            if "MONTY_AMQP_URLS" not in values:
                assert "MONTY_AMQP_URL" not in values
                continue
            clients += 1
            urls = [url.strip() for url in values["MONTY_AMQP_URLS"].split(",")]
            hosts = {
                re.sub(r"^amqp://\$\(RABBITMQ_USER\):\$\(RABBITMQ_PASSWORD\)@([^:/]+):5672/$", r"\1", u)
                for u in urls
            }
            assert hosts == nodes, urls
            secrets = environment(container)
            for variable in ("RABBITMQ_USER", "RABBITMQ_PASSWORD"):
                reference = secrets[variable]["secretKeyRef"]
                assert reference["name"] == f"{cluster_name}-default-user"
                assert reference["key"] in OPERATOR_SECRET_KEYS
            assert values["MONTY_QUEUE_TYPE"] == "quorum"
    assert clients == 3  # the exchange, the archive API and the archive worker


def test_every_reference_points_at_something_the_manifests_define() -> None:
    """Secret keys are in the example Secret (or the operator's), ConfigMaps are in the
    kustomization, Services select a Deployment's pods on a port it names, and the Ingress routes
    to Services and ports that exist."""
    [example] = documents(SECRET_EXAMPLE)
    example_keys = set(example["stringData"])
    configs, services, deployments = named("ConfigMap"), named("Service"), named("Deployment")
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        for container in containers(deployment):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in configs
            for value in environment(container).values():
                if isinstance(value, dict) and "secretKeyRef" in value:
                    reference = value["secretKeyRef"]
                    if reference["name"] == example["metadata"]["name"]:
                        assert reference["key"] in example_keys, reference
                    else:
                        assert reference["name"].endswith("-default-user"), reference
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] == example["metadata"]["name"]
                assert {item["key"] for item in volume["secret"]["items"]} <= example_keys
    ports_of: dict[str, set[str]] = {}
    for name, service in services.items():
        selector = service["spec"]["selector"]
        [target] = [
            d
            for d in deployments.values()
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        container_ports = {p.get("name") for c in containers(target) for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in container_ports, (name, port)
        ports_of[name] = {port["name"] for port in service["spec"]["ports"]}
    [ingress] = named("Ingress").values()
    routed = set()
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["port"]["name"] in ports_of[backend["name"]], backend
            routed.add(backend["name"])
    assert routed == set(HTTP_SERVICES)


def test_the_ingress_routes_each_service_s_api_and_never_its_metrics(tmp_path: Path) -> None:
    """On each service's host, every route the service serves reaches it through the Ingress but
    /metrics (Prometheus scrapes the pods), /internal/ (services call each other through their
    Services) and Flask's empty /static/; those, and any other path, are the controller's 404."""
    [ingress] = named("Ingress").values()
    host_of: dict[str, str] = {}
    for rule in ingress["spec"]["rules"]:
        [service] = {path["backend"]["service"]["name"] for path in rule["http"]["paths"]}
        host_of[service] = rule["host"]
    for service, routes in served_routes(tmp_path).items():
        host = host_of[service]
        for route in routes:
            private = route == "/metrics" or route.startswith(NOT_ROUTED_PREFIXES)
            expected = None if private else service
            assert ingress_backend(ingress, host, sample_path(route)) == expected, (service, route)
        for path in ("/metrics", "/metrics/", "/metrics/x", "/", "/no-such-path"):
            assert ingress_backend(ingress, host, path) is None, (service, path)
