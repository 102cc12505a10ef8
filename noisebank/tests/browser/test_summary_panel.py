"""The catalogue's summary panel in a real Chromium: catalogue.js loads it for the selection, and
a bar of it lands on the catalogue filtered to that bar, with the count the bar showed."""

import re

import pytest

from noisebank.tests.browser.conftest import OpenPage
from noisebank.tests.browser.harness import LAPTOP, PHONE, needs_chromium, screenshot

pytestmark = needs_chromium


def total(page: object) -> int:
    return int(page.locator("#total-count").get_attribute("data-count"))  # type: ignore[attr-defined]


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_summary_panel_shows_the_selection_and_a_bar_opens_its_rows(
    open_page: OpenPage, viewport: dict[str, int]
) -> None:
    page = open_page("researcher", viewport)
    page.goto("/recordings/?region=Ashanti&sort=-laeq")
    counts = page.locator("#summary-counts")
    counts.wait_for()
    assert int(counts.get_attribute("data-count")) == total(page)
    assert re.search(r"with an audio file", counts.inner_text())
    page.locator("#selection-summary").scroll_into_view_if_needed()
    screenshot(page, "summary-panel")
    bar = page.locator("#selection-summary svg a").filter(has=page.locator("rect")).last
    shown = int(re.sub(r"\D", "", bar.get_attribute("aria-label").rsplit(":", 1)[1]))
    with page.expect_navigation():
        bar.click()
    assert "region=Ashanti" in page.url
    assert total(page) == shown
    # The panel follows the new selection.
    page.locator("#summary-counts").wait_for()
    assert int(page.locator("#summary-counts").get_attribute("data-count")) == shown
