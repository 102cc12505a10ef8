"""The catalogue's pager: rows X-Y of N, first / previous / next / last, the page jump and the
original system's ?page=N links, all on keyset pages."""

import html as htmllib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from noisebank.catalog.models import Recording
from noisebank.catalog.pagination import decode_cursor
from noisebank.catalog.tests.test_recording_list import (  # noqa: F401 (fixtures)
    T0,
    expected_order,
    fresh_count_cache,
    ids_on,
    rows_in_html,
    sortable,
)
from noisebank.catalog.views import SORTS
from noisebank.testing import make_recording


@pytest.fixture
def paged(sortable: list[Recording]) -> list[Recording]:  # noqa: F811
    """The 130 sortable recordings, four of them without a recording time."""
    Recording.objects.filter(pk__in=[sortable[i].pk for i in (2, 40, 41, 99)]).update(
        recorded_at=None
    )
    return list(Recording.objects.select_related("category", "features", "analysis"))


def link(response: Any, link_id: str) -> str | None:
    found = re.search(rf'id="{link_id}"[^>]* href="([^"]+)"', response.content.decode())
    return "/recordings/" + htmllib.unescape(found.group(1)) if found else None


def row_range(response: Any) -> str:
    found = re.search(
        r'<span class="rowrange" id="row-range">(.*?)</span>', response.content.decode()
    )
    assert found, "no row range on the page"
    return htmllib.unescape(found.group(1)).replace("\N{EN DASH}", "-")


def get(client: Client, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.content.decode()[:2000]
    assert rows_in_html(response) == ids_on(response)
    return response


# Orders with ties and NULLs (recorded_at, duration, lafmax), a unique one, and the category walk.
WALKS = ["-recorded_at", "recorded_at", "noise_id", "-name", "duration", "-lafmax", "category",
         "-category"]  # fmt: skip


@pytest.mark.parametrize("sort", WALKS)
def test_next_to_the_end_and_previous_back_visit_every_row_once_in_order(
    alice_client: Client, paged: list[Recording], sort: str
) -> None:
    order = expected_order(paged, sort.removeprefix("-"), sort.startswith("-"))
    url: str | None = f"/recordings/?sort={sort}&size=50"
    forward: list[list[str]] = []
    while url:
        response = get(alice_client, url)
        forward.append(ids_on(response))
        n = len(forward)
        assert row_range(response) == (
            f"Rows {(n - 1) * 50 + 1}-{(n - 1) * 50 + len(forward[-1])} of 130 · page {n} of 3"
        )
        url = link(response, "next-page")
        assert len(forward) <= 3
    assert [r for page in forward for r in page] == order
    assert link(response, "last-page") is None
    backward: list[list[str]] = [ids_on(response)]
    url = link(response, "prev-page")
    while url:
        response = get(alice_client, url)
        backward.append(ids_on(response))
        assert row_range(response).endswith(f"page {4 - len(backward)} of 3")
        url = link(response, "prev-page")
    assert backward == list(reversed(forward))
    assert link(response, "first-page") is None


@pytest.mark.parametrize("sort", WALKS)
def test_the_last_page_is_the_tail_and_its_previous_page_comes_before_it(
    alice_client: Client, paged: list[Recording], sort: str
) -> None:
    order = expected_order(paged, sort.removeprefix("-"), sort.startswith("-"))
    first = get(alice_client, f"/recordings/?sort={sort}")
    last = get(alice_client, link(first, "last-page") or "")
    assert ids_on(last) == order[100:]
    assert row_range(last) == "Rows 101-130 of 130 · page 3 of 3"
    before = get(alice_client, link(last, "prev-page") or "")
    assert ids_on(before) == order[50:100]
    assert row_range(before) == "Rows 51-100 of 130 · page 2 of 3"


@pytest.mark.parametrize("sort", list(SORTS) + [f"-{k}" for k in SORTS])
def test_the_cursor_at_any_offset_from_either_end_is_after_that_row(
    paged: list[Recording], sort: str
) -> None:
    key, descending = sort.removeprefix("-"), sort.startswith("-")
    order = expected_order(paged, key, descending)
    by_noise_id = {r.noise_id: r.pk for r in paged}
    for offset in [*range(0, 130, 9), 1, 98, 99, 100, 125, 127, 128, 129]:
        for from_end in (False, True):
            cursor = SORTS[key].cursor_at(
                Recording.objects.all(), key=key, descending=descending, offset=offset,
                from_end=from_end,
            )  # fmt: skip
            assert cursor
            row = order[-1 - offset] if from_end else order[offset]
            assert decode_cursor(cursor, tag=key, allow_null=True)[1] == by_noise_id[row]
        past = SORTS[key].cursor_at(
            Recording.objects.all(), key=key, descending=descending, offset=130, from_end=False
        )
        assert past is None


@pytest.fixture
def seven_pages(alice: User) -> list[str]:
    """320 recordings newest first (ties, and five without a time at the end): 7 pages of 50."""
    recs = [
        make_recording(collector=alice, recorded_at=T0 + timedelta(hours=i // 3),
                       with_measurements=False)
        for i in range(320)
    ]  # fmt: skip
    Recording.objects.filter(pk__in=[r.pk for r in recs[100:105]]).update(recorded_at=None)
    dated = sorted(recs[:100] + recs[105:], key=lambda r: (r.recorded_at, r.pk), reverse=True)
    undated = sorted(recs[100:105], key=lambda r: r.pk, reverse=True)
    return [r.noise_id for r in dated + undated]


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5, 6, 7])
def test_a_page_jump_shows_that_pages_rows(
    alice_client: Client, seven_pages: list[str], number: int
) -> None:
    # Pages 2-3 find their start from the top, 4-6 from the end, 7 is read backward.
    response = get(alice_client, f"/recordings/?page={number}")
    start = (number - 1) * 50
    assert ids_on(response) == seven_pages[start : start + 50]
    end = min(start + 50, 320)
    assert row_range(response) == f"Rows {start + 1}-{end} of 320 · page {number} of 7"
    if number < 7:  # and paging on from a jump goes on in step
        after = get(alice_client, link(response, "next-page") or "")
        assert ids_on(after) == seven_pages[start + 50 : start + 100]
        assert row_range(after).endswith(f"page {number + 1} of 7")
    if number > 1:
        before = get(alice_client, link(response, "prev-page") or "")
        assert ids_on(before) == seven_pages[start - 50 : start]
        assert row_range(before).endswith(f"page {number - 1} of 7")


def test_a_jump_costs_one_query_to_find_its_start(
    alice_client: Client, seven_pages: list[str], django_assert_num_queries: Any
) -> None:
    alice_client.get("/recordings/?page=2")  # the count cached
    # session, user, groups, the selects' options, data version, the row before the page (an
    # OFFSET), the ids of the selection (a small one, pagination.FEW_ROWS), the page, and the
    # export panel's data version (its cached audio figures)
    with django_assert_num_queries(9):
        alice_client.get("/recordings/?page=3")
    # The last page, read backward without an OFFSET: its five undated rows, then dated ones.
    with django_assert_num_queries(9):
        alice_client.get("/recordings/?page=last")


def test_every_pager_link_and_the_jump_form_keep_the_filters_sort_and_size(
    alice_client: Client, paged: list[Recording]
) -> None:
    keep = "category=Horns&category=Bells&sort=laeq&size=50"
    response = get(alice_client, f"/recordings/?{keep}")
    assert response.context["total"] == 64
    second = get(alice_client, link(response, "next-page") or "")
    for page, link_id in [(second, "first-page"), (second, "prev-page"), (response, "last-page")]:
        assert (link(page, link_id) or "").startswith(f"/recordings/?{keep}"), link_id
    assert (link(response, "next-page") or "").endswith("&page=2")
    html = response.content.decode()
    form = html[html.index('<form class="pagejump"') :].split("</form>")[0]
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    assert hidden == [
        ("category", "Horns"),
        ("category", "Bells"),
        ("sort", "laeq"),
        ("size", "50"),
    ]
    assert 'name="page" min="1" max="2"' in form and 'value="1" required' in form
    jumped = get(
        alice_client, "/recordings/?" + "&".join(f"{n}={v}" for n, v in hidden) + "&page=2"
    )
    horns_bells = [r for r in paged if r.category and r.category.name in ("Horns", "Bells")]
    assert ids_on(jumped) == expected_order(horns_bells, "laeq", False)[50:]
    assert row_range(jumped) == "Rows 51-64 of 64 · page 2 of 2"


# --- The original's ?page=N -----------------------------------------------------------------


def test_an_old_page_link_shows_that_page_of_the_filters_and_sort(
    alice_client: Client, paged: list[Recording]
) -> None:
    response = get(alice_client, "/recordings/?category=Horns&sort=-laeq&page=2&size=50")
    horns = [r for r in paged if r.category and r.category.name == "Horns"]
    assert response.context["total"] == len(horns) == 31
    # 31 rows make one page: page 2 is past it, so the page says so and shows the last.
    assert ids_on(response) == expected_order(horns, "laeq", True)
    assert "There is no page 2: the last is page 1 (31 rows, 50 a page), shown here." in (
        response.content.decode()
    )
    assert row_range(response) == "Rows 1-31 of 31 · page 1 of 1"


@pytest.mark.parametrize("number", ["4", "1000", "9" * 40])
def test_a_page_past_the_last_shows_the_last_page_and_says_so(
    alice_client: Client, paged: list[Recording], number: str
) -> None:
    response = get(alice_client, f"/recordings/?sort=name&page={number}")
    assert ids_on(response) == expected_order(paged, "name", False)[100:]
    assert row_range(response) == "Rows 101-130 of 130 · page 3 of 3"
    assert "There is no page" in response.content.decode()
    assert "the last is page 3 (130 rows, 50 a page), shown here." in response.content.decode()


def test_pages_of_an_empty_selection(alice_client: Client, paged: list[Recording]) -> None:
    response = get(alice_client, "/recordings/?q=nothing-like-this")
    assert row_range(response) == "No rows · page 1 of 1"
    for link_id in ("first-page", "prev-page", "next-page", "last-page"):
        assert link(response, link_id) is None
    response = get(alice_client, "/recordings/?q=nothing-like-this&page=2")
    assert "There is no page 2: the last is page 1 (0 rows, 50 a page)" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=0", "page=0: must be a page number (1, 2, 3, …) or last."),
        ("page=-1", "page=-1: must be a page number"),
        ("page=abc", "page=abc: must be a page number"),
        ("page=1.5", "page=1.5: must be a page number"),
        ("page=%EF%BC%92", "must be a page number"),
        ("page=2&page=3", "page is given 2 times; give it once."),
        ("page=last&after=abc", "page=last finds the last page itself"),
        ("after=abc&before=abc", "after= and before= cannot be given together"),
        ("before=not-a-cursor", "The page cursor is not valid"),
    ],
)
def test_a_bad_page_gets_the_page_with_a_clear_message(
    alice_client: Client, paged: list[Recording], query: str, message: str
) -> None:
    response = alice_client.get("/recordings/?" + query)
    assert response.status_code == 400
    html = response.content.decode()
    assert htmllib.escape(message, quote=True) in html or message in html
    assert 'id="filter-errors"' in html
    assert '<form id="filters"' in html


def test_a_cursor_link_without_a_page_number_still_pages(
    alice_client: Client, paged: list[Recording]
) -> None:
    first = get(alice_client, "/recordings/?sort=-laeq")
    cursor = first.context["page"].next_cursor
    response = get(alice_client, f"/recordings/?sort=-laeq&after={cursor}")
    assert ids_on(response) == expected_order(paged, "laeq", True)[50:100]
    assert row_range(response) == "50 rows of 130"  # where it starts is not counted
    assert (
        get(alice_client, link(response, "prev-page") or "").context["page"].items[0].noise_id
        == (ids_on(first)[0])
    )


@pytest.mark.parametrize("sort", ["-recorded_at", "laeq"])
def test_on_sqlite_a_page_after_a_cursor_starts_from_it_in_the_index(
    alice_client: Client, paged: list[Recording], sort: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not a time but the plan: the OR form Django writes for SQLite sorted every row past the
    # cursor ("USE TEMP B-TREE FOR ORDER BY"), so a page cost more the nearer the start it was.
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL is given the row value by Django itself")
    # A large selection's path: a small one (pagination.FEW_ROWS) is read by its ids and sorted.
    monkeypatch.setattr("noisebank.catalog.views.FEW_ROWS", 0)
    first = get(alice_client, f"/recordings/?sort={sort}")
    with CaptureQueriesContext(connection) as queries:
        get(alice_client, link(first, "next-page") or "")
    (page_query,) = [q["sql"] for q in queries.captured_queries if "LIMIT 51" in q["sql"]]
    assert ") < (" in page_query or ") > (" in page_query
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + page_query)
        plan = " / ".join(row[-1] for row in cursor.fetchall())
    assert "TEMP B-TREE" not in plan, plan
