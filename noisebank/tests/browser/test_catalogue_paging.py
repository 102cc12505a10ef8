"""Paging the catalogue in a real Chromium: forward, back, a page jump and the last page."""

from typing import Any

from noisebank.tests.browser.conftest import OpenPage
from noisebank.tests.browser.harness import RECORDINGS, LiveApp, needs_chromium

pytestmark = needs_chromium

# The catalogue's default order, NULLs last as on the page.
NEWEST_FIRST = (
    "SELECT noise_id FROM catalog_recording WHERE review_state = 'accepted' "
    "ORDER BY recorded_at IS NULL, recorded_at DESC, id DESC"
)


def rows_shown(page: Any) -> list[str]:
    return list(
        page.locator("#recordings tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.noiseId)"
        )
    )


def row_range(page: Any) -> str:
    return str(page.locator("#row-range").inner_text()).replace("\N{EN DASH}", "-")


def follow(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_paging_forward_and_back_and_jumping_to_a_page(
    open_page: OpenPage, live_app: LiveApp
) -> None:
    def rows_at(offset: int) -> list[str]:
        return [r[0] for r in live_app.sql(f"{NEWEST_FIRST} LIMIT 50 OFFSET {offset:d}")]

    pages = -(-RECORDINGS // 50)
    page = open_page("researcher")
    page.goto("/recordings/")
    assert rows_shown(page) == rows_at(0)
    assert row_range(page) == f"Rows 1-50 of {RECORDINGS:,} · page 1 of {pages}"
    assert page.locator("#prev-page").count() == 0
    for number in (2, 3):
        follow(page, "#next-page")
        assert rows_shown(page) == rows_at((number - 1) * 50)
        assert row_range(page).startswith(f"Rows {(number - 1) * 50 + 1}-{number * 50} of")
    for number in (2, 1):
        follow(page, "#prev-page")
        assert rows_shown(page) == rows_at((number - 1) * 50)
        assert row_range(page).endswith(f"page {number} of {pages}")
    assert page.locator("#prev-page").count() == 0

    page.fill("#page-jump-number", "200")
    follow(page, "#page-jump-go")
    assert "page=200" in page.url
    assert rows_shown(page) == rows_at(9950)
    assert row_range(page) == f"Rows 9,951-10,000 of {RECORDINGS:,} · page 200 of {pages}"
    follow(page, "#next-page")
    assert rows_shown(page) == rows_at(10000)

    follow(page, "#last-page")
    tail = RECORDINGS - (pages - 1) * 50
    assert rows_shown(page) == rows_at((pages - 1) * 50)
    assert len(rows_shown(page)) == tail
    assert row_range(page).endswith(f"of {RECORDINGS:,} · page {pages} of {pages}")
    assert page.locator("#next-page").count() == 0
    follow(page, "#prev-page")
    assert rows_shown(page) == rows_at((pages - 2) * 50)
