"""The dashboard in a real Chromium: a bar opens the catalogue rows it counts; laptop and phone."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from noisebank.catalog import models as m
from noisebank.testing import PASSWORD, make_recording

CHROMIUM = "/usr/bin/chromium"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's ORM calls are still
    # synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield chromium
        chromium.close()


def logged_in(browser: Any, url: str, viewport: dict[str, int]) -> Any:
    """A tab logged in through the login page, which lands on the user's home page."""
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(url + "/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def test_a_category_bar_opens_the_catalogue_with_its_count(
    live_server: Any, browser: Any, alice: User, charlie: User, tmp_path: Path
) -> None:
    for i in range(7):
        make_recording(collector=charlie, category="Warning signal" if i < 3 else "Ambience")
    make_recording(collector=charlie, status=m.Recording.Status.FAILED, error="no frames")
    make_recording(collector=charlie, review_state=m.Recording.Review.SUBMITTED)
    page = logged_in(browser, live_server.url, LAPTOP)
    assert page.url == live_server.url + "/dashboard/"
    bar = page.locator('#dash-categories svg a[aria-label^="Warning signal:"]')
    assert bar.get_attribute("aria-label") == "Warning signal: 3"
    with page.expect_navigation():
        bar.locator("rect").click()
    assert "/recordings/?category=Warning+signal" in page.url
    assert page.locator("#total-count").get_attribute("data-count") == "3"
    assert page.locator("main table tbody tr").count() == 3

    shots = []
    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        tab = logged_in(browser, live_server.url, viewport)
        # Nothing wider than the window: the cards fall into one column on a phone.
        assert tab.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        path = tmp_path / f"dashboard-{name}-{viewport['width']}.png"
        tab.screenshot(path=str(path), full_page=True)
        shots.append(path)
    assert all(p.stat().st_size > 0 for p in shots)
