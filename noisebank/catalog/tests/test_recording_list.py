import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from noisebank.catalog import models as m
from noisebank.catalog import views
from noisebank.catalog.models import Recording
from noisebank.catalog.pagination import encode_cursor
from noisebank.catalog.views import SORTS
from noisebank.testing import make_recording, taxon

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_count_cache() -> None:
    # SQLite hands out the same ids again after a test's rollback: start each test cold.
    cache.clear()


@pytest.fixture
def five(alice: User) -> list[Recording]:
    return [make_recording(collector=alice, recorded_at=T0 + timedelta(hours=i)) for i in range(5)]


def ids_on(response: Any) -> list[str]:
    return [r.noise_id for r in response.context["page"].items]


def rows_in_html(response: Any) -> list[str]:
    return re.findall(r'<tr data-noise-id="([^"]+)"', response.content.decode())


def next_url(response: Any) -> str | None:
    found = re.search(r'<a class="button primary" id="next-page" rel="next" href="([^"]+)"',
                      response.content.decode())  # fmt: skip
    return "/recordings/" + found.group(1).replace("&amp;", "&") if found else None


def walk(client: Client, url: str) -> list[str]:
    """Every row of every page, following the page's own next-page links."""
    seen: list[str] = []
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content.decode()[:2000]
        assert rows_in_html(response) == ids_on(response)
        seen += ids_on(response)
        url = next_url(response) or ""
        pages += 1
        assert pages < 100
    return seen


def test_list_shows_newest_first_with_total(alice_client: Client, five: list[Recording]) -> None:
    response = alice_client.get("/recordings/")
    assert response.status_code == 200
    assert response.context["total"] == 5
    assert ids_on(response) == [r.noise_id for r in reversed(five)]
    html = response.content.decode()
    assert '<span id="total-count" data-count="5">' in html
    link = re.search(rf'<a href="(/recordings/{five[0].noise_id}/)">(.*?)</a>', html)
    assert link and re.sub("<[^>]+>", "", link.group(2)) == five[0].noise_id
    assert alice_client.get(link.group(1)).status_code == 200  # the detail page
    assert '<form id="filters" method="get" action="/recordings/"' in html
    assert 'id="apply-filters"' in html


def test_rows_show_every_column_with_units(alice_client: Client, alice: User) -> None:
    rec = make_recording(
        collector=alice,
        name="Horn at the level crossing",
        category="Warning signal",
        sound_class="Horn",
        region="Ashanti",
        community="Ejisu",
        recorded_at=datetime(2026, 4, 2, 6, 45, tzinfo=UTC),
        features={"duration_s": 31.24},
        analysis={"laeq": 84.44, "lafmax": 99.96},
    )
    html = alice_client.get("/recordings/").content.decode()
    row = html[html.index(f'<tr data-noise-id="{rec.noise_id}">') :].split("</tr>")[0]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    assert cells == [
        rec.noise_id, "Horn at the level crossing", "Warning signal", "Horn", "Ashanti", "Ejisu",
        "2026-04-02 06:45", "31.2", "84.4 dB SPL", "100.0 dB SPL", "Ready",
    ]  # fmt: skip
    headings = re.findall(r'<th scope="col" class="([^"]*)"', html)
    assert [h for h in headings if "num" in h] == [
        "col-duration num",
        "col-laeq num",
        "col-lafmax num",
    ]
    for unit in ("UTC", "s", "dB"):
        assert f'<span class="unit">{unit}</span>' in html


@pytest.mark.parametrize("few_rows", [0, views.FEW_ROWS])  # read along the index / sorted
def test_keyset_pages_cover_everything_once(
    alice_client: Client,
    alice: User,
    django_assert_max_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
    few_rows: int,
) -> None:
    monkeypatch.setattr(views, "FEW_ROWS", few_rows)
    # Three recordings at the same instant: the id breaks the tie, nothing is skipped.
    recs = [make_recording(collector=alice, recorded_at=T0) for _ in range(3)]
    recs += [
        make_recording(collector=alice, recorded_at=T0 + timedelta(days=i)) for i in range(1, 120)
    ]
    seen: list[str] = []
    url = "/recordings/?size=50"
    while url:
        with django_assert_max_num_queries(10):  # 8, and the export panel's audio files
            response = alice_client.get(url)
        assert response.status_code == 200
        seen += ids_on(response)
        url = next_url(response) or ""
    assert len(seen) == len(set(seen)) == 122
    assert sorted(seen) == sorted(r.noise_id for r in recs)


def test_list_runs_a_fixed_number_of_queries_and_counts_once(
    alice_client: Client, alice: User, five: list[Recording], django_assert_num_queries: Any
) -> None:
    # session, user, groups, category names, the selects' options, data version, count, the
    # ids of this small selection (pagination.FEW_ROWS), page, the rows without a recording time
    # (read only because the dated ones do not fill the page), and for the export panel data
    # version and audio files
    with django_assert_num_queries(12):
        alice_client.get("/recordings/?category=Train+pass-by")
    with django_assert_num_queries(10):  # count and audio cached for this filter and data version
        response = alice_client.get("/recordings/?category=train+pass-by&size=100")
    assert response.context["total"] == 5
    make_recording(collector=alice)  # a new data version: counted again
    with django_assert_num_queries(12):
        response = alice_client.get("/recordings/?category=Train+pass-by")
    assert response.context["total"] == 6


def test_a_changed_recording_is_counted_again(alice_client: Client, five: list[Recording]) -> None:
    assert alice_client.get("/recordings/?status=ready").context["total"] == 5
    # As measuring does: the status changes and updated_at moves with it.
    Recording.objects.filter(pk=five[0].pk).update(
        status=Recording.Status.FAILED, updated_at=five[0].updated_at + timedelta(seconds=1)
    )
    assert alice_client.get("/recordings/?status=ready").context["total"] == 4


def test_recording_without_measurements_shows_dashes(alice_client: Client, alice: User) -> None:
    make_recording(collector=alice, with_measurements=False, status=Recording.Status.PENDING)
    response = alice_client.get("/recordings/")
    assert response.status_code == 200
    assert '<td class="num">—</td>' in response.content.decode()


# --- Filters through the page -------------------------------------------------------------


@pytest.fixture
def varied(alice: User, bob: User) -> dict[str, Recording]:
    """Two recordings differing in every filtered property, plus a third without measurements."""
    a = make_recording(
        collector=alice, name="Bridge rumble", description="steel bridge", category="Train pass-by",
        sound_class="Freight train", subclass="Container", region="Greater Accra",
        community="Tema", recorded_at=datetime(2026, 1, 10, 7, 0, tzinfo=UTC),
        dataset_type=taxon(m.DatasetType, "noise"),
        microphone_type=taxon(m.MicrophoneType, "Omni condenser"),
        time_of_day=taxon(m.TimeOfDay, "Morning"),
        features={"duration_s": 10.0}, analysis={"laeq": 70.0},
    )  # fmt: skip
    b = make_recording(
        collector=bob, name="Horn blast", description="level crossing", category="Warning signal",
        sound_class="Horn", subclass="Two-tone", region="Ashanti", community="Ejisu",
        recorded_at=datetime(2026, 3, 20, 22, 0, tzinfo=UTC),
        dataset_type=taxon(m.DatasetType, "mixed"),
        microphone_type=taxon(m.MicrophoneType, "Smartphone"),
        time_of_day=taxon(m.TimeOfDay, "Night"), status=Recording.Status.FAILED,
        features={"duration_s": 40.0}, analysis={"laeq": 95.0},
    )  # fmt: skip
    c = make_recording(
        collector=alice, name="Unmeasured", category="Train pass-by", sound_class="Freight train",
        subclass=None, region="Greater Accra", community=None, with_measurements=False,
        recorded_at=datetime(2026, 2, 1, tzinfo=UTC), status=Recording.Status.PENDING,
    )  # fmt: skip
    return {"a": a, "b": b, "c": c}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", "abc"),
        ("q=bridge", "a"),
        ("q=LEVEL+crossing", "b"),
        ("category=Warning+signal", "b"),
        ("class=Freight+train", "ac"),
        ("subclass=Two-tone", "b"),
        ("region=Greater+Accra", "ac"),
        ("community=Ejisu", "b"),
        ("dataset_type=noise", "a"),
        ("collector=bob", "b"),
        ("microphone_type=Smartphone", "b"),
        ("time_of_day=Morning", "a"),
        ("recorded_from=2026-02-01", "bc"),
        ("recorded_to=2026-02-01", "ac"),
        ("recorded_from=2026-01-10&recorded_to=2026-01-10", "a"),
        ("laeq_min=80", "b"),
        ("laeq_max=80", "a"),
        ("duration_min=20", "b"),
        ("duration_max=20", "a"),
        ("status=pending", "c"),
        ("status=ready&status=failed", "ab"),
        ("category=Train+pass-by&region=Greater+Accra&status=ready", "a"),
    ],
)
def test_each_filter_narrows_the_page(
    alice_client: Client, varied: dict[str, Recording], query: str, expected: str
) -> None:
    response = alice_client.get("/recordings/?" + query)
    assert response.status_code == 200
    assert sorted(ids_on(response)) == sorted(varied[k].noise_id for k in expected)
    assert response.context["total"] == len(expected)


def test_the_form_shows_the_filters_of_the_url(
    alice_client: Client, varied: dict[str, Recording]
) -> None:
    category = m.Category.objects.get(name="Warning signal")
    html = alice_client.get(
        f"/recordings/?category={category.pk}&q=horn&laeq_min=80&recorded_from=2026-03-01"
        "&sort=-laeq&size=100&status=failed"
    ).content.decode()
    assert f'<option value="{category.pk}" selected>Warning signal</option>' in html
    assert 'name="q" value="horn"' in html
    assert 'name="laeq_min" value="80"' in html
    assert 'type="date" id="f-recorded_from" name="recorded_from" value="2026-03-01"' in html
    assert '<option value="-laeq" selected>' in html
    assert '<option value="100" selected>100</option>' in html
    assert '<option value="failed" selected>' in html


def test_the_new_filters_narrow_the_page_and_the_form_keeps_them(
    alice_client: Client, varied: dict[str, Recording]
) -> None:
    a, b = varied["a"], varied["b"]
    Recording.objects.filter(pk=a.pk).update(
        latitude=5.6, longitude=-0.2, audio="audio/a.wav", calibration_offset_db=110.0
    )
    m.NoiseAnalysis.objects.filter(recording=b).update(unit=m.NoiseAnalysis.Unit.DBFS)
    Recording.objects.filter(pk=b.pk).copy_measurements()  # as every writer of levels does
    for query, expected in [
        ("has_audio=yes", "a"),
        ("has_audio=no", "bc"),
        ("calibrated=yes", "a"),
        ("unit=dBFS", "b"),
        ("bbox=-1,5,0,6", "a"),
        (f"noise_id={a.noise_id}%0D%0A{b.noise_id}", "ab"),
    ]:
        response = alice_client.get("/recordings/?" + query)
        assert sorted(ids_on(response)) == sorted(varied[k].noise_id for k in expected), query
    html = alice_client.get(
        "/recordings/?has_audio=no&calibrated=yes&unit=dB+SPL&bbox=-1,5,0,6"
        f"&noise_id={a.noise_id},{b.noise_id}&noise_id=NSE-X"
    ).content.decode()
    assert '<option value="no" selected>Without audio (metadata only)</option>' in html
    assert '<option value="yes" selected>Calibrated (own or device offset)</option>' in html
    assert '<option value="dB SPL" selected>dB SPL</option>' in html
    assert 'name="bbox" value="-1,5,0,6"' in html
    assert f">{a.noise_id},{b.noise_id}\nNSE-X</textarea>" in html
    refused = alice_client.get("/recordings/?bbox=170,0,-170,10")
    assert refused.status_code == 400
    assert "a box across the antimeridian (180°) is not supported" in refused.content.decode()
    assert 'name="bbox" value="170,0,-170,10" placeholder' in refused.content.decode()


def test_child_selects_list_only_the_chosen_parents_children(
    alice_client: Client, varied: dict[str, Recording]
) -> None:
    train = m.Category.objects.get(name="Train pass-by")
    freight = m.SoundClass.objects.get(name="Freight train")
    horn = m.SoundClass.objects.get(name="Horn")
    accra = m.Region.objects.get(name="Greater Accra")
    ejisu = m.Community.objects.get(name="Ejisu")
    html = alice_client.get("/recordings/").content.decode()
    assert 'data-parent-select="f-category"' in html and 'data-parent-select="f-region"' in html
    assert f'<option value="{horn.pk}" data-parent="{horn.category_id}">Horn</option>' in html
    html = alice_client.get(
        f"/recordings/?category={train.pk}&region=greater+accra"
    ).content.decode()
    assert f'<option value="{freight.pk}" data-parent="{train.pk}">Freight train</option>' in html
    hidden = f'<option value="{horn.pk}" data-parent="{horn.category_id}" hidden disabled>Horn'
    assert hidden in html
    assert f'<option value="{ejisu.pk}" data-parent="{ejisu.region_id}" hidden disabled>' in html
    assert f'<option value="{accra.pk}" selected>Greater Accra</option>' in html


def test_repeated_values_keep_a_multiple_select(
    alice_client: Client, varied: dict[str, Recording]
) -> None:
    response = alice_client.get("/recordings/?status=ready&status=failed")
    assert '<select id="f-status" name="status" multiple size="4">' in response.content.decode()


def test_pager_and_header_links_keep_the_filters_sort_and_size(
    alice_client: Client, alice: User
) -> None:
    for i in range(60):
        make_recording(collector=alice, category="Horns" if i % 2 else "Bells")
    response = alice_client.get("/recordings/?category=Horns&size=50")
    assert response.context["total"] == 30
    assert len(ids_on(response)) == 30
    response = alice_client.get("/recordings/?category=Bells&category=Horns&sort=laeq")
    cursor = response.context["page"].next_cursor
    html = response.content.decode()
    assert (
        f"?category=Bells&amp;category=Horns&amp;sort=laeq&amp;size=50&amp;after={cursor}" in html
    )
    assert 'href="?category=Bells&amp;category=Horns&amp;sort=-laeq&amp;size=50"' in html
    assert 'href="?category=Bells&amp;category=Horns&amp;sort=laeq&amp;size=100"' in html
    second = alice_client.get(next_url(response) or "")
    assert len(ids_on(second)) == 10
    assert (
        'id="first-page" href="?category=Bells&amp;category=Horns&amp;sort=laeq&amp;size=50"'
        in (second.content.decode())
    )


@pytest.mark.parametrize("size", [50, 100, 200])
def test_page_sizes(alice_client: Client, alice: User, size: int) -> None:
    for i in range(201):
        make_recording(
            collector=alice, recorded_at=T0 + timedelta(minutes=i), with_measurements=False
        )
    response = alice_client.get(f"/recordings/?size={size}")
    assert len(ids_on(response)) == size
    assert response.context["total"] == 201
    assert len(walk(alice_client, f"/recordings/?size={size}")) == 201


# --- Sorting ------------------------------------------------------------------------------


@pytest.fixture
def sortable(alice: User) -> list[Recording]:
    """130 recordings with ties in every sorted value and NULLs in the nullable ones."""
    recs = []
    for i in range(130):
        recs.append(
            make_recording(
                collector=alice,
                name=f"Rec {i % 7}",  # ties in name
                category=["Bells", "Horns", "Brakes", "Ambience"][i % 4],
                recorded_at=T0 + timedelta(hours=i % 11),  # ties in time
                features={"duration_s": float(i % 5)},
                analysis={"laeq": 60.0 + i % 9, "lafmax": None if i % 6 == 0 else 90.0 + i % 3},
                with_measurements=i % 10 != 3,  # no features, no levels
            )
        )
    # No category at all: sorted after every category, in either direction.
    Recording.objects.filter(pk__in=[recs[5].pk, recs[77].pk]).update(category=None)
    return list(Recording.objects.select_related("category", "features", "analysis"))


def _sort_value(rec: Recording, key: str) -> Any:
    if key == "category":
        return rec.category.name if rec.category else None
    if key == "duration":
        f = getattr(rec, "features", None)
        return f.duration_s if f else None
    if key in ("laeq", "lafmax"):
        a = getattr(rec, "analysis", None)
        return getattr(a, key) if a else None
    return getattr(rec, key)


def expected_order(recs: list[Recording], key: str, descending: bool) -> list[str]:
    present = [r for r in recs if _sort_value(r, key) is not None]
    missing = [r for r in recs if _sort_value(r, key) is None]
    present.sort(key=lambda r: (_sort_value(r, key), r.pk), reverse=descending)
    missing.sort(key=lambda r: r.pk, reverse=descending)
    return [r.noise_id for r in present + missing]


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("key", list(SORTS))
def test_every_sort_pages_through_the_whole_selection_in_order(
    alice_client: Client, sortable: list[Recording], key: str, descending: bool
) -> None:
    sort = f"{'-' if descending else ''}{key}"
    seen = walk(alice_client, f"/recordings/?sort={sort}&size=50")
    assert seen == expected_order(sortable, key, descending)
    assert len(set(seen)) == 130


@pytest.mark.parametrize("key", list(SORTS))
def test_sorts_combine_with_filters(
    alice_client: Client, sortable: list[Recording], key: str
) -> None:
    horns = [r for r in sortable if r.category and r.category.name == "Horns"]
    seen = walk(alice_client, f"/recordings/?category=Horns&sort=-{key}&size=50")
    assert seen == expected_order(horns, key, True)


def test_sorted_column_is_marked_and_its_link_reverses_it(
    alice_client: Client, five: list[Recording]
) -> None:
    html = alice_client.get("/recordings/?sort=-laeq").content.decode()
    assert (
        '<th scope="col" class="col-laeq num" aria-sort="descending">'
        '<a class="sortlink" href="?sort=laeq&amp;size=50">' in html
    )
    html = alice_client.get("/recordings/").content.decode()
    assert (
        'aria-sort="descending"><a class="sortlink" href="?sort=recorded_at&amp;size=50">' in html
    )
    assert '<a class="sortlink" href="?sort=noise_id&amp;size=50">' in html


# --- The original's address ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("", {}),
        ("search=bridge", {"q": ["bridge"]}),
        (
            "search=horn&category=Horns&category=Bells&region=Ashanti&page=3&per_page=25",
            {"q": ["horn"], "category": ["Horns", "Bells"], "region": ["Ashanti"]},
        ),
        ("date_range=decade&community=Tema&sort=name&foo=bar", {"community": ["Tema"]}),
        ("class=Horn&subclass=Air&dataset_type=noise&collector=alice&status=ready",
         {"class": ["Horn"], "subclass": ["Air"], "dataset_type": ["noise"],
          "collector": ["alice"], "status": ["ready"]}),
    ],
)  # fmt: skip
def test_original_list_address_redirects_with_its_filters_translated(
    alice_client: Client, old: str, new: dict[str, list[str]]
) -> None:
    response = alice_client.get("/datasetlist/?" + old)
    assert response.status_code == 301
    url = urlsplit(response["Location"])
    assert url.path == "/recordings/"
    got: dict[str, list[str]] = {}
    for k, v in parse_qsl(url.query):
        got.setdefault(k, []).append(v)
    assert got == new


def test_original_date_range_becomes_recorded_from(alice_client: Client) -> None:
    response = alice_client.get("/datasetlist/?date_range=year")
    today = datetime.now(UTC).date()
    assert response["Location"] == f"/recordings/?recorded_from={today.year}-01-01"


def test_redirect_lands_on_a_working_page(
    alice_client: Client, varied: dict[str, Recording]
) -> None:
    response = alice_client.get("/datasetlist/?search=bridge&page=2", follow=True)
    assert response.status_code == 200
    assert ids_on(response) == [varied["a"].noise_id]


# --- Bad input ------------------------------------------------------------------------------


def _cursor(*payload: Any) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(list(payload)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("colour=red", "Unknown parameter: colour."),
        ("size=7", "size=7: must be one of 50, 100, 200."),
        ("size=abc", "size=abc: must be one of 50, 100, 200."),
        ("size=%EF%BC%95%EF%BC%90", "must be one of 50, 100, 200."),
        ("size=-50", "must be one of 50, 100, 200."),
        ("sort=colour", "sort=colour: must be one of recorded_at"),
        ("sort=--laeq", "sort=--laeq: must be one of"),
        ("sort=laeq%00", "must be one of"),
        ("after=not-a-cursor", "The page cursor is not valid"),
        ("after=W1tdLDFd", "The page cursor is not valid"),
        ("after=%00%00", "The page cursor is not valid"),
        (f"after={encode_cursor(80.0, 1, 'laeq')}", "The page cursor is not valid"),
        (f"sort=laeq&after={encode_cursor('x', 1, 'laeq')}", "does not fit this order"),
        (f"sort=laeq&after={encode_cursor(80.0, 2**70, 'laeq')}", "The page cursor is not valid"),
        (f"sort=laeq&after={_cursor('NaN', 1, 'laeq')}", "does not fit"),
        (f"sort=laeq&after={_cursor(1e400, 1, 'laeq')}", "The page cursor is not valid"),
        ("sort=noise_id&after=" + encode_cursor("a\x00b", 1, "noise_id"), "not valid"),
        (f"sort=category&after={encode_cursor(999999, 1, 'category')}", "does not fit this order"),
        (
            f"sort=category&after={encode_cursor(True, 1, 'category')}",
            "The page cursor is not valid",
        ),
        (f"sort=-recorded_at&after={encode_cursor(80.0, 1, 'recorded_at')}", "does not fit"),
        (f"after={_cursor({'dt': 'yesterday'}, 1, 'recorded_at')}", "The page cursor is not valid"),
        (f"after={_cursor([1], 1, 'recorded_at')}", "The page cursor is not valid"),
        ("laeq_min=loud", "laeq_min=loud: must be a number."),
        ("laeq_max=nan", "laeq_max=nan: "),
        ("duration_min=1e999", "duration_min=1e999: "),
        ("recorded_from=tomorrow", "recorded_from=tomorrow: "),
        ("recorded_from=2026-02-30", "recorded_from=2026-02-30: "),
        ("recorded_to=2026-13-01T25:00", "recorded_to=2026-13-01T25:00: "),
        ("category=Nope", "category: there is no category named &#x27;Nope&#x27;."),
        ("class=999999", "class: there is no class with id 999999."),
        ("collector=%00", "collector: there is no collector named"),
        ("status=done", "status: &#x27;done&#x27; is not one of pending"),
        ("q=%00", "q="),
        ("q=" + "x" * 300, "q="),
        ("laeq_min=1&laeq_min=2", "laeq_min is given 2 times; give it once."),
        ("community=%F0%9F%92%A9&region=%E2%80%AE", "there is no"),
    ],
)
def test_bad_input_gets_the_page_with_a_clear_message(
    alice_client: Client, five: list[Recording], query: str, message: str
) -> None:
    response = alice_client.get("/recordings/?" + query)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'id="filter-errors"' in html
    assert '<form id="filters"' in html  # the form stays, to correct the input
    assert "<table" not in html


def test_several_bad_parameters_are_all_named(alice_client: Client, five: list[Recording]) -> None:
    response = alice_client.get("/recordings/?laeq_min=x&sort=pitch&size=3&colour=red")
    html = response.content.decode()
    assert response.status_code == 400
    for part in ("laeq_min=x", "sort=pitch", "size=3", "Unknown parameter: colour"):
        assert part in html
    assert 'id="f-laeq_min" name="laeq_min" value="x" aria-invalid="true"' in html


def test_a_cursor_of_one_sort_is_refused_by_another(
    alice_client: Client, sortable: list[Recording]
) -> None:
    response = alice_client.get("/recordings/?sort=-laeq")
    cursor = response.context["page"].next_cursor
    assert alice_client.get(f"/recordings/?sort=-laeq&after={cursor}").status_code == 200
    assert alice_client.get(f"/recordings/?sort=-lafmax&after={cursor}").status_code == 400
    assert alice_client.get(f"/recordings/?sort=laeq&after={cursor}").status_code == 200


# --- Who sees what ----------------------------------------------------------------------------


def test_collector_sees_the_catalogue_without_the_export_panel(
    charlie_client: Client, five: list[Recording]
) -> None:
    response = charlie_client.get("/recordings/")
    assert response.status_code == 200
    assert 'id="recordings"' in response.content.decode()
    assert 'id="export-panel"' not in response.content.decode()


@pytest.mark.parametrize("who", ["alice", "admin"])
def test_researchers_and_admins_get_the_export_panel(
    who: str, request: pytest.FixtureRequest, five: list[Recording]
) -> None:
    client: Client = request.getfixturevalue(f"{who}_client")
    assert 'id="export-panel"' in client.get("/recordings/").content.decode()


def test_account_without_a_role_is_refused(nobody: User, five: list[Recording]) -> None:
    client = Client()
    client.force_login(nobody)
    assert client.get("/recordings/").status_code == 403


def test_anonymous_is_sent_to_log_in(client: Client, db: None) -> None:
    response = client.get("/recordings/?category=Horns")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_minimum_above_its_maximum_shows_an_empty_list_and_says_why(
    alice_client: Client, five: list[Recording]
) -> None:
    response = alice_client.get("/recordings/?laeq_min=90&laeq_max=80")
    assert response.status_code == 200
    assert response.context["total"] == 0
    assert (
        "laeq_min=90 is greater than laeq_max=80: nothing can match." in response.content.decode()
    )
