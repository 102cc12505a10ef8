"""/recordings/summary/ (the catalogue's summary panel): the figures shown are the selection's
(catalog.stats), and each bar opens the catalogue holding exactly the rows it counts."""

import html
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import QueryDict
from django.test import Client

from noisebank.catalog import models as m
from noisebank.catalog.filters import ReviewAccess, parse_filters
from noisebank.catalog.stats import selection_stats
from noisebank.catalog.summary import TOP_CLASSES
from noisebank.testing import make_awkward_recordings, make_recording

FETCH = {"X-Requested-With": "fetch"}
FILTERS = [
    "",
    "category=Train+pass-by",
    "unit=dBFS",
    "has_audio=yes",
    "region=Ashanti&laeq_min=63.5&laeq_max=75",
    "class=Horn&class=Freight+train",
    "class=Crossing+bell",
    "q=nothing+matches+this",
]


@pytest.fixture(autouse=True)
def fresh_count_cache() -> None:
    # SQLite hands out the same ids again after a test's rollback: start each test cold.
    cache.clear()


@pytest.fixture
def catalogue(alice: User) -> None:
    make_awkward_recordings(collector=alice)
    for i in range(14):
        make_recording(
            collector=alice,
            category="Warning signals" if i % 2 else "Train pass-by",
            sound_class=["Freight train", "Horn", "Passenger train", "Bell"][i % 4],
            region="Ashanti" if i % 3 else "Western",
            # Two on a bin's edge (71.0 and 64.0): counted in the bin above, as the links are.
            analysis={"laeq": [71.0, 64.0, 71.0, 63.75][i] if i < 4 else 60.0 + 1.7 * i},
            audio=f"audio/s{i}.wav" if i % 4 == 0 else "",
            size_bytes=3_000_000_000 + i if i % 4 == 0 else None,
        )
    make_recording(collector=alice, review_state=m.Recording.Review.SUBMITTED)


def figures(body: str) -> dict[str, list[tuple[str, str | None, int]]]:
    """Each chart's title -> its bars (label, link, count), read from its table."""
    charts = {}
    for figure in body.split('<figure class="chart-figure">')[1:]:
        title = html.unescape(re.search(r"<title>(.*?)</title>", figure).group(1))
        rows = re.findall(
            r'<tr><th scope=row>(?:<a href="([^"]*)">)?(.*?)(?:</a>)?</th><td>([^<]*)</td></tr>',
            figure,
        )
        charts[title] = [
            (html.unescape(label), html.unescape(href) or None, int(n.replace(",", "")))
            for href, label, n in rows
        ]
    return charts


def counts_shown(body: str) -> dict[str, int]:
    found = re.search(
        r'id="summary-counts" data-count="(\d+)" data-audio-files="(\d+)" '
        r'data-audio-bytes="(\d+)"',
        body,
    )
    assert found, body[:2000]
    return dict(zip(("count", "audio_files", "audio_bytes"), map(int, found.groups()), strict=True))


def count_of(link: str) -> int:
    """How many recordings the catalogue at `link` lists (a researcher's view)."""
    query = QueryDict(urlsplit(link).query)
    return selection_stats(parse_filters(query))["count"]


@pytest.mark.parametrize("query", FILTERS)
def test_the_summary_shows_the_selections_figures(
    alice_client: Client, catalogue: None, query: str
) -> None:
    response = alice_client.get(f"/recordings/summary/?{query}", headers=FETCH)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body  # a fragment for the page's panel
    stats = selection_stats(parse_filters(QueryDict(query)))
    assert counts_shown(body) == {k: stats[k] for k in ("count", "audio_files", "audio_bytes")}
    charts = figures(body)
    if not stats["count"]:
        assert charts == {}
        return
    for unit, bins in stats["laeq_histogram"].items():
        title = f"LAeq, {unit}, 1 dB bins"
        if not bins:
            assert title not in charts
            continue
        shown = charts[title]
        assert [n for _, _, n in shown] == [b["count"] for b in bins]
        assert [label for label, _, _ in shown] == [
            f"{b['low']:g}\u2013{b['high']:g}" for b in bins
        ]
    top = stats["by"]["class"][:TOP_CLASSES]
    shown = charts["Top classes"]
    assert [n for _, _, n in shown] == [g["count"] for g in top]
    for (label, _, _), g in zip(shown, top, strict=True):  # a shared name: "name (category)"
        assert label.split(" (")[0] == (g["name"] or "(no class)"), label


@pytest.mark.parametrize("query", FILTERS[:-1])
def test_each_bar_opens_the_catalogue_holding_the_rows_it_counts(
    alice_client: Client, catalogue: None, query: str
) -> None:
    body = alice_client.get(f"/recordings/summary/?{query}", headers=FETCH).content.decode()
    bars = [bar for shown in figures(body).values() for bar in shown]
    assert len(bars) > 3
    for label, link, n in bars:
        assert link is not None, label
        assert link.startswith("/recordings/?")
        assert count_of(link) == n, (label, link)
        # Every filter of the selection is still in the link.
        given = set(parse_qsl(query)) - {(k, v) for k, v in parse_qsl(query) if k == "class"}
        assert given - {("laeq_min", "63.5"), ("laeq_max", "75")} <= set(
            parse_qsl(urlsplit(link).query)
        )
    page = alice_client.get(bars[0][1])
    assert page.status_code == 200


def test_a_bin_link_stays_within_the_selections_own_level_range(
    alice_client: Client, catalogue: None
) -> None:
    body = alice_client.get(
        "/recordings/summary/?laeq_min=63.5&laeq_max=71", headers=FETCH
    ).content.decode()
    bins = figures(body)["LAeq, dB SPL, 1 dB bins"]
    first, last = dict(parse_qsl(urlsplit(bins[0][1]).query)), bins[-1]
    assert (bins[0][0], first["laeq_min"], first["unit"]) == ("63\u201364", "63.5", "dB SPL")
    # The bin [71, 72) holds only the row at exactly 71.0, the filter's own upper edge.
    assert last[0] == "71\u201372" and dict(parse_qsl(urlsplit(last[1]).query))["laeq_max"] == "71"
    assert all(count_of(link) == n for _, link, n in bins)


def test_a_class_named_in_two_categories_links_by_its_id_and_shows_its_category(
    alice_client: Client, catalogue: None, alice: User
) -> None:
    def top_classes() -> dict[str, dict[str, str]]:
        body = alice_client.get("/recordings/summary/", headers=FETCH).content.decode()
        bars = figures(body)["Top classes"]
        return {label: dict(parse_qsl(urlsplit(link or "").query)) for label, link, _ in bars}

    assert top_classes()["Horn"]["class"] == "Horn"
    make_recording(collector=alice, category="Ambience", sound_class="horn")
    cache.clear()
    shown = top_classes()
    for h in m.SoundClass.objects.filter(name__iexact="horn").select_related("category"):
        assert shown[f"{h.name} ({h.category.name})"]["class"] == str(h.pk)
    assert shown["Bell"]["class"] == "Bell"


def test_the_catalogue_page_links_its_panel_to_its_filters(
    alice_client: Client, catalogue: None
) -> None:
    page = alice_client.get("/recordings/?region=Ashanti&sort=-laeq&size=100").content.decode()
    panel = re.search(r'<details class="card summary-panel" id="selection-summary" open '
                      r'data-src="([^"]+)">', page)  # fmt: skip
    assert panel and panel.group(1) == "/recordings/summary/?region=Ashanti"
    # Without JS the panel holds a link to the summary as a page of its own.
    assert 'href="/recordings/summary/?region=Ashanti" id="summary-link"' in page
    alone = alice_client.get("/recordings/summary/?region=Ashanti")
    text = alone.content.decode()
    assert alone.status_code == 200 and "<html" in text
    assert 'href="/recordings/?region=Ashanti">Back to the catalogue' in text
    assert counts_shown(text)["count"] == count_of("/recordings/?region=Ashanti")
    assert "X-Requested-With" in alone["Vary"]


def test_bad_filters_are_named_and_no_role_is_refused(
    alice_client: Client, nobody: User, catalogue: None
) -> None:
    response = alice_client.get("/recordings/summary/?laeq_min=loud&sort=-laeq", headers=FETCH)
    assert response.status_code == 400
    body = response.content.decode()
    assert "laeq_min=loud" in body and "Unknown parameter: sort" in body
    client = Client()
    client.force_login(nobody)
    assert client.get("/recordings/summary/").status_code == 403


def test_a_collector_sees_the_figures_of_what_they_may_see(
    charlie_client: Client, charlie: User, catalogue: None
) -> None:
    make_recording(collector=charlie, review_state=m.Recording.Review.SUBMITTED)
    body = charlie_client.get("/recordings/summary/", headers=FETCH).content.decode()
    access = ReviewAccess.own_recordings(charlie.pk)
    mine = selection_stats(parse_filters(QueryDict("review=all"), access=access))["count"]
    accepted = selection_stats(parse_filters(QueryDict("")))["count"]
    assert counts_shown(body)["count"] == accepted
    everything_mine = charlie_client.get("/recordings/summary/?review=all", headers=FETCH)
    assert counts_shown(everything_mine.content.decode())["count"] == mine == accepted + 1


def test_the_summary_costs_a_fixed_number_of_queries(
    alice_client: Client, catalogue: None, django_assert_num_queries: Any
) -> None:
    # session, user, groups, category name; data version and count, data version and audio;
    # the LAeq bins, the classes and their shared names
    with django_assert_num_queries(11):
        alice_client.get("/recordings/summary/?category=Train+pass-by", headers=FETCH)
    with django_assert_num_queries(9):  # count and audio cached for this filter and data
        alice_client.get("/recordings/summary/?category=Train+pass-by", headers=FETCH)
