"""The dashboard in a real Chromium, against the demo app: a researcher lands on it, a category
bar opens the catalogue rows it counts, and it fits a laptop and a phone."""

import re
from urllib.parse import quote_plus

import pytest

from noisebank.tests.browser.conftest import OpenPage
from noisebank.tests.browser.harness import LAPTOP, PHONE, needs_chromium, screenshot

pytestmark = needs_chromium


def test_a_category_bar_opens_the_catalogue_with_its_count(open_page: OpenPage) -> None:
    page = open_page("researcher")
    page.goto("/")
    assert page.url.endswith("/dashboard/")
    bar = page.locator("#dash-categories svg a").first
    label = bar.get_attribute("aria-label")  # "<category>: <count>"
    name, shown = label.rsplit(":", 1)
    with page.expect_navigation():
        bar.locator("rect").click()
    assert f"/recordings/?category={quote_plus(name)}" in page.url
    assert page.locator("#total-count").get_attribute("data-count") == re.sub(r"\D", "", shown)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_dashboard_fits_the_window(open_page: OpenPage, viewport: dict[str, int]) -> None:
    page = open_page("researcher", viewport)
    page.goto("/dashboard/")
    page.locator("#dash-categories svg").wait_for()
    # Nothing wider than the window: the cards fall into one column on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    screenshot(page, "dashboard")
