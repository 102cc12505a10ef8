"""Logging in and browsing the catalogue in a real Chromium."""

import pytest

from noisebank.tests.browser.conftest import OpenPage
from noisebank.tests.browser.harness import (
    LAPTOP,
    PHONE,
    RECORDINGS,
    LiveApp,
    log_in,
    needs_chromium,
    screenshot,
)

pytestmark = needs_chromium


@pytest.mark.parametrize("user", ["researcher", "collector", "admin"])
def test_each_demo_login_reaches_the_catalogue(open_page: OpenPage, user: str) -> None:
    page = open_page(None)
    page.goto("/recordings/")
    assert "/accounts/login/" in page.url
    log_in(page, user)
    page.goto("/recordings/")
    assert page.url.endswith("/recordings/")
    assert page.locator("h1").inner_text() == "Catalogue"


def test_a_wrong_password_is_refused_with_a_message(open_page: OpenPage) -> None:
    page = open_page(None)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "researcher")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text().startswith("That user name and password")
    page.goto("/recordings/")
    assert "/accounts/login/" in page.url


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_catalogue_lists_the_newest_recordings(
    open_page: OpenPage, live_app: LiveApp, viewport: dict[str, int]
) -> None:
    page = open_page("researcher", viewport)
    page.goto("/recordings/")
    newest = [r[0] for r in live_app.sql(
        "SELECT noise_id FROM catalog_recording ORDER BY recorded_at DESC, id DESC LIMIT 50"
    )]  # fmt: skip
    rows = page.locator("#recordings tbody tr").all_inner_texts()
    assert len(rows) == 50
    assert all(noise_id in row for noise_id, row in zip(newest, rows, strict=True))
    assert f"{RECORDINGS:,}" in page.locator("main").inner_text()
    screenshot(page, "catalogue")
