"""Each service's Swagger UI page, driven in a real headless Chromium: it renders, offline, and it works."""

import json
from pathlib import Path

import pytest
import requests
from docs_browser import DOCS_PAGE, OPENAPI_DOC, Chromium, VisitedPage
from playwright.sync_api import expect

from support.stack import Stack

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
SERVICES = ["exchange", "users", "auth", "archive"]
BODY = {"hello": "from the docs page"}


def documented_operations(origin: str) -> set[tuple[str, str]]:
    """(method, path) of every operation in the service's OpenAPI document."""
    response = requests.get(origin + OPENAPI_DOC, timeout=10)
    assert response.status_code == 200, response.text
    paths: dict[str, dict[str, object]] = response.json()["paths"]
    assert paths
    return {(method, path) for path, item in paths.items() for method in item if method in HTTP_METHODS}


def open_docs_page(visited: VisitedPage, operations: int) -> None:
    """Load the Swagger UI page and wait until all its operations are rendered."""
    page = visited.page
    response = page.goto(visited.origin + DOCS_PAGE)
    assert response is not None
    assert response.status == 200
    expect(page.locator(".opblock")).to_have_count(operations)
    page.wait_for_load_state("networkidle")


def rendered_operations(visited: VisitedPage) -> set[tuple[str, str]]:
    """(method, path) of every operation block on the page, from its method label and data-path."""
    pairs: list[list[str]] = visited.page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent.trim().toLowerCase(),
            block.querySelector('.opblock-summary-path').getAttribute('data-path'),
        ])""",
    )
    return {(method, path) for method, path in pairs}


def assert_only_own_origin(visited: VisitedPage) -> None:
    """The page fetched nothing from another host (no CDN, no validator badge, no fonts from afar), and
    its Content-Security-Policy refused nothing it needs."""
    assert visited.requested, "the page requested nothing"
    assert visited.foreign_requests() == [], visited.requested
    assert visited.policy_violations() == []


@pytest.mark.parametrize("service", SERVICES)
def test_docs_page_renders_every_operation_from_its_own_assets(
    stack: Stack, chromium: Chromium, screenshot_dir: Path, service: str
) -> None:
    """Swagger UI shows each documented operation and the Authorize button, fetching only from the service."""
    origin = stack.services[service].url
    expected = documented_operations(origin)
    with chromium.visit(origin) as visited:
        open_docs_page(visited, len(expected))
        assert rendered_operations(visited) == expected
        authorize = visited.page.locator(".auth-wrapper button.authorize")
        expect(authorize).to_be_visible()
        expect(authorize).to_contain_text("Authorize")
        visited.page.screenshot(path=str(screenshot_dir / f"{service}-swagger.png"), full_page=True)
    assert_only_own_origin(visited)


def test_docs_index_links_to_swagger_ui(stack: Stack, chromium: Chromium) -> None:
    """The index of the docs pages leads to Swagger UI, its policy refusing nothing."""
    origin = stack.services["users"].url
    with chromium.visit(origin) as visited:
        response = visited.page.goto(origin + "/openapi/")
        assert response is not None
        assert response.status == 200
        visited.page.get_by_role("link", name="Swagger").click()
        expect(visited.page.locator(".opblock").first).to_be_visible()
    assert_only_own_origin(visited)


def test_exchange_try_it_out_publishes_with_an_authorized_token(
    stack: Stack, chromium: Chromium, screenshot_dir: Path
) -> None:
    """Authorize with a real admin token, try POST /Message from the page, and find the body on the queue."""
    exchange = stack.services["exchange"].url
    token = stack.token()
    with chromium.visit(exchange) as visited:
        page = visited.page
        open_docs_page(visited, len(documented_operations(exchange)))

        page.locator(".auth-wrapper button.authorize").click()
        dialog = page.locator(".modal-ux")
        expect(dialog).to_be_visible()
        bearer = dialog.locator(".auth-container").filter(has_text="bearer")
        bearer.locator("input#auth-bearer-value").fill(token)
        bearer.get_by_role("button", name="Apply credentials").click()
        expect(bearer.locator("h6")).to_have_text("Authorized")
        dialog.locator("button.btn-done").click()
        expect(dialog).to_be_hidden()

        operation = page.locator(".opblock.opblock-post").filter(
            has=page.locator('.opblock-summary-path[data-path="/Message"]')
        )
        operation.locator(".opblock-summary").click()
        operation.locator("button.try-out__btn").click()
        operation.locator("textarea.body-param__text").fill(json.dumps(BODY))
        # The page sends the documented defaults too (?delay=0).
        with page.expect_response(
            lambda response: response.url.split("?")[0] == exchange + "/Message"
        ) as sent:
            operation.locator("button.execute").click()

        live = operation.locator(".live-responses-table .response")
        expect(live.locator(".response-col_status")).to_have_text("200")
        assert sent.value.request.headers.get("authorization") == f"Bearer {token}"
        shown = live.locator(".response-col_description pre.microlight").first
        expect(shown).to_contain_text("message_id")
        answer = json.loads(shown.inner_text())
        # The page down to the live response; the documented responses below it would add metres.
        bottom = live.evaluate("element => element.getBoundingClientRect().bottom + window.scrollY")
        page.screenshot(
            path=str(screenshot_dir / "exchange-try-it-out.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": 1280, "height": bottom + 24},
        )
    assert_only_own_origin(visited)

    consumed = requests.get(exchange + "/Consume", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert consumed.status_code == 200, consumed.text
    assert consumed.headers["Monty-Queue-Empty"] == "false"
    assert consumed.headers["Monty-Message-Id"] == answer["message_id"]
    assert consumed.text == json.dumps(BODY), "the queue holds other bytes than the page sent"
