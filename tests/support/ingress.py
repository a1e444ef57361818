"""Which Service a Kubernetes Ingress sends a request to, by the API's own path matching rules."""

from typing import Any


def _segments(path: str) -> list[str]:
    """The path's elements split by "/", empty ones (a trailing slash) left out."""
    return [segment for segment in path.split("/") if segment]


def _matches(rule_path: str, path_type: str, path: str) -> bool:
    """Whether `path` matches an Ingress path: Exact is the same string; Prefix matches element by
    element (so /Message matches /Message and /Message/x, never /Messages)."""
    if path_type == "Exact":
        return path == rule_path
    assert path_type == "Prefix", f"{path_type} matching is up to the controller: not checked here"
    wanted = _segments(rule_path)
    return _segments(path)[: len(wanted)] == wanted


def ingress_backend(ingress: dict[str, Any], host: str, path: str) -> str | None:
    """The name of the Service `ingress` sends GET `path` on `host` to, or None (the controller's
    default backend). The longest matching path wins; at equal length, Exact before Prefix."""
    candidates: list[tuple[int, bool, str]] = []
    for rule in ingress["spec"]["rules"]:
        if rule.get("host") != host:
            continue
        for entry in rule["http"]["paths"]:
            if _matches(entry["path"], entry["pathType"], path):
                exact = entry["pathType"] == "Exact"
                candidates.append(
                    (len(entry["path"].rstrip("/")), exact, entry["backend"]["service"]["name"])
                )
    if not candidates:
        return None
    return max(candidates)[2]
