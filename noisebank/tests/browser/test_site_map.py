"""The map of sites in a real Chromium, on the demo's 23,453 recordings: drawn offline at laptop
and phone width, and a circle leads to the catalogue holding its count."""

from typing import Any
from urllib.parse import urlsplit

import pytest

from noisebank.tests.browser.conftest import OpenPage
from noisebank.tests.browser.harness import LAPTOP, PHONE, LiveApp, needs_chromium, screenshot

pytestmark = needs_chromium


def watched(page: Any) -> tuple[list[str], list[str]]:
    """Requests made and console errors, with anything not on 127.0.0.1 refused at once."""
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.context.route(
        lambda url: urlsplit(url).hostname != "127.0.0.1", lambda route: route.abort()
    )
    return requested, errors


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_map_draws_every_located_recording_offline(
    open_page: OpenPage, live_app: LiveApp, viewport: dict[str, int]
) -> None:
    page = open_page("researcher", viewport)
    requested, errors = watched(page)
    page.goto("/map/")
    page.locator("#sitemap").wait_for()
    counts = page.locator("#sitemap a").evaluate_all(
        "marks => marks.map(a => Number(a.getAttribute('data-count')))"
    )
    ((located,),) = live_app.sql(
        "SELECT count(*) FROM catalog_recording WHERE review_state = 'accepted' "
        "AND latitude IS NOT NULL AND longitude IS NOT NULL"
    )
    assert located > 0 and sum(counts) == located
    assert page.locator("#sitemap .map-region").count() == 7  # the demo's regions
    box = page.locator("#sitemap").bounding_box()
    assert box is not None and box["width"] <= viewport["width"]  # no sideways scrolling
    path = screenshot(page, "map")
    assert path.stat().st_size > 0
    assert path.with_name(f"{path.stem}-full.png").stat().st_size > 0
    assert [u for u in requested if urlsplit(u).hostname != "127.0.0.1"] == []
    assert errors == []


def test_a_circle_opens_the_catalogue_holding_its_count(open_page: OpenPage) -> None:
    page = open_page("researcher")
    _, errors = watched(page)
    page.goto("/recordings/?region=Ashanti")
    with page.expect_navigation():
        page.click("#map-link")
    assert urlsplit(page.url).query == "region=Ashanti"
    clusters = page.locator("#sitemap a.map-cluster")
    counts = clusters.evaluate_all("marks => marks.map(a => Number(a.getAttribute('data-count')))")
    biggest = counts.index(max(counts))
    with page.expect_navigation():
        clusters.nth(biggest).locator("circle").click()
    assert urlsplit(page.url).path == "/recordings/"
    assert "region=Ashanti" in page.url and "bbox=" in page.url
    assert page.locator("#total-count").get_attribute("data-count") == str(counts[biggest])
    assert errors == []
