"""What every served answer tells a client about the server, and the headers guarding the docs pages."""

from collections.abc import Iterator

import pytest
import requests

from support.stack import Stack, running_stack

SERVICES = ["exchange", "users", "auth", "archive"]
DOCS = ["/openapi/", "/openapi/swagger", "/openapi/openapi.json", "/openapi/swagger-initializer.js"]


@pytest.fixture(scope="module")
def stack(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every service, started as users start it."""
    with running_stack(amqp_url, tmp_path_factory.mktemp("headers-stack")) as running:
        yield running


@pytest.mark.parametrize("service", SERVICES)
def test_no_answer_names_the_server(stack: Stack, service: str) -> None:
    """No Server header on a success, a refusal, an unknown route or a docs page."""
    origin = stack.services[service].url
    for method, path in [
        ("GET", "/healthz"),
        ("GET", "/nowhere"),
        ("DELETE", "/healthz"),
        *(("GET", p) for p in DOCS),
    ]:
        response = requests.request(method, origin + path, timeout=10)
        assert "Server" not in response.headers, (path, response.headers)
        assert "gunicorn" not in str(response.headers).lower()


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("path", DOCS)
def test_docs_pages_send_the_security_headers(stack: Stack, service: str, path: str) -> None:
    """Swagger UI and the OpenAPI document: a CSP allowing only the service's own origin, no framing,
    no sniffing, no referrer."""
    response = requests.get(stack.services[service].url + path, timeout=10)
    assert response.status_code == 200
    directives = [item.partition(" ") for item in response.headers["Content-Security-Policy"].split("; ")]
    policy = {name: sources for name, _, sources in directives}
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    for directive, sources in policy.items():
        assert "*" not in sources, directive
        assert "http" not in sources, directive
        assert "'unsafe-" not in sources, directive  # no inline code, no eval
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
