"""The API's Swagger page in a real Chromium: it renders from the app's own files, offline."""

from urllib.parse import urlsplit

from noisebank.tests.browser.conftest import OpenPage
from noisebank.tests.browser.harness import needs_chromium, screenshot

pytestmark = needs_chromium


def test_the_api_docs_render_every_operation_without_leaving_the_machine(
    open_page: OpenPage,
) -> None:
    page = open_page("researcher")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    # Anything that is not the app would hang or fail here (no internet): refuse it at once and
    # remember it, so the assertion below names it.
    page.context.route(
        lambda url: urlsplit(url).hostname != "127.0.0.1", lambda route: route.abort()
    )
    page.goto("/api/v1/docs")
    operations = page.locator(".opblock-summary-path")
    operations.first.wait_for()
    paths = set(operations.all_inner_texts())
    assert {"/api/v1/recordings", "/api/v1/exports", "/api/v1/me"} <= {
        p.replace("\u200b", "") for p in paths
    }
    outside = [u for u in requested if urlsplit(u).hostname != "127.0.0.1"]
    assert outside == []
    assert any(u.endswith("/static/ninja/swagger-ui-bundle.js") for u in requested)
    screenshot(page, "api-docs")
