"""The OpenAPI document: valid, served at its documented URL, and describing what the service does."""

from flask.testing import FlaskClient
from openapi_spec_validator import validate

from monty_common.openapi_app import OPENAPI_URL


def test_document_is_valid_openapi(client: FlaskClient) -> None:
    """The served document passes an OpenAPI 3.1 validator."""
    response = client.get(OPENAPI_URL)
    assert response.status_code == 200
    validate(response.get_json())


def test_document_describes_the_routes_and_their_answers(client: FlaskClient) -> None:
    """POST /Message and GET /Consume with their success, error and empty-queue answers."""
    paths = client.get(OPENAPI_URL).get_json()["paths"]
    post = paths["/Message"]["post"]
    assert set(post["responses"]) >= {"200", "400", "413", "503", "504"}
    assert "application/json" in post["requestBody"]["content"]
    assert "application/problem+json" in post["responses"]["400"]["content"]
    assert "Retry-After" in post["responses"]["503"]["headers"]
    consume = paths["/Consume"]["get"]["responses"]["200"]
    assert "Monty-Queue-Empty" in consume["headers"]
    assert consume["content"]["text/plain"]["schema"]["enum"] == [
        "There are no Available Messages to Consume."
    ]


def test_both_publish_routes_document_the_idempotency_key(client: FlaskClient) -> None:
    """The optional Idempotency-Key header with its pattern, the replay header and the 409 conflicts."""
    paths = client.get(OPENAPI_URL).get_json()["paths"]
    for path in ("/Message", "/Messages"):
        post = paths[path]["post"]
        [key] = [parameter for parameter in post["parameters"] if parameter["name"] == "Idempotency-Key"]
        assert key["in"] == "header"
        assert not key.get("required", False)
        assert key["schema"]["pattern"] == "^[\\x21-\\x7e]{1,255}$"
        assert "Idempotent-Replayed" in post["responses"]["200"]["headers"]
        assert post["responses"]["409"]["headers"]["Retry-After"]
        assert "idempotency-key-reused" in post["responses"]["409"]["description"]
