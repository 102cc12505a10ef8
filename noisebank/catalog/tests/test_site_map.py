"""/map/: the catalogue's selection as points and clusters over region outlines (SVG, no tiles)."""

import html
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from noisebank.catalog import models as m
from noisebank.catalog.sitemap import REGIONS_FILE, demo_regions_file
from noisebank.testing import make_recording

MARK = re.compile(r'<a class="map-(point|cluster)" href="([^"]*)" data-count="(\d+)">')
SHIPPED = Path(__file__).resolve().parents[3] / "static" / REGIONS_FILE


def marks(client: Client, query: str = "") -> list[tuple[str, str, int]]:
    response = client.get(f"/map/{query}")
    assert response.status_code == 200, response.content
    return [(kind, html.unescape(href), int(n)) for kind, href, n in MARK.findall(response.text)]


def place(rec: m.Recording, lat: float | None, lon: float | None) -> None:
    m.Recording.objects.filter(pk=rec.pk).update(latitude=lat, longitude=lon)


@pytest.fixture
def sites(alice: User) -> list[m.Recording]:
    """Accra and Kumasi, dense; a few alone; some without a place; one submitted (hidden)."""
    recs = []
    for i in range(40):
        rec = make_recording(
            collector=alice,
            category="Warning signals" if i % 3 == 0 else "Train pass-by",
            region="Greater Accra" if i < 25 else "Ashanti",
            with_measurements=False,
        )
        if i < 25:  # a grid 0.001 degrees apart: many points on shared cell lines
            place(rec, 5.549 + (i % 5) / 1000, -0.203 + (i // 5) / 1000)
        elif i < 35:
            place(rec, 6.688, -1.624)  # ten at the very same spot
        elif i < 38:
            place(rec, 4.898 + i / 100, -1.760 - i / 50)
        elif i == 38:
            place(rec, 47.378, None)  # half a location: not on the map
        recs.append(rec)
    hidden = make_recording(collector=alice, review_state=m.Recording.Review.SUBMITTED)
    place(hidden, 5.6, -0.1)
    return recs


def located(**filters: object) -> int:
    return m.Recording.objects.filter(
        review_state="accepted", latitude__isnull=False, longitude__isnull=False, **filters
    ).count()


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("", {}),
        ("?category=Warning+signals", {"category__name": "Warning signals"}),
        ("?region=Ashanti", {"region__name": "Ashanti"}),
        ("?bbox=-1,5,0,6", {"longitude__range": (-1, 0), "latitude__range": (5, 6)}),
    ],
)
def test_the_map_shows_exactly_the_located_recordings_of_the_selection(
    alice_client: Client, sites: list[m.Recording], query: str, filters: dict[str, object]
) -> None:
    drawn = marks(alice_client, query)
    expected = located(**filters)
    assert expected > 0
    assert sum(n for _, _, n in drawn) == expected
    page = alice_client.get(f"/map/{query}").text
    assert f'data-located="{expected}"' in page


def test_each_cluster_links_to_exactly_its_recordings_and_each_point_to_its_page(
    alice_client: Client, sites: list[m.Recording]
) -> None:
    drawn = marks(alice_client)
    clusters = [(href, n) for kind, href, n in drawn if kind == "cluster"]
    points = [href for kind, href, n in drawn if kind == "point"]
    assert clusters and points
    assert any(n == 10 for _, n in clusters)  # the ten at one spot are one circle
    for href, n in clusters:
        url = urlsplit(href)
        assert url.path == "/recordings/"
        params = dict(parse_qsl(url.query))
        assert set(params) == {"bbox"}
        api = alice_client.get("/api/v1/recordings", {**params, "size": "1"})
        assert api.json()["count"] == n, href
        assert alice_client.get("/api/v1/stats", params).json()["count"] == n
    for href in points:
        noise_id = href.removeprefix("/recordings/").removesuffix("/")
        assert alice_client.get(href).status_code == 200
        rec = m.Recording.objects.get(noise_id=noise_id)
        assert rec.latitude is not None and rec.longitude is not None


def test_a_cluster_link_keeps_the_other_filters(
    alice_client: Client, sites: list[m.Recording]
) -> None:
    drawn = marks(alice_client, "?category=Train+pass-by&bbox=-2,4,1,7")
    box = {"longitude__range": (-2, 1), "latitude__range": (4, 7)}
    assert sum(n for _, _, n in drawn) == located(category__name="Train pass-by", **box)
    for kind, href, n in drawn:
        if kind == "cluster":
            params = parse_qsl(urlsplit(href).query)
            assert [k for k, _ in params] == ["category", "bbox"]
            assert params[1][1] != "-2,4,1,7"  # the cell's box replaces the page's
            assert alice_client.get("/api/v1/stats", params).json()["count"] == n


def test_hostile_names_are_escaped(alice_client: Client, alice: User) -> None:
    rec = make_recording(
        collector=alice,
        name='"><script>alert("name")</script>',
        region="<img src=x onerror=alert(1)>",
        community="</title><script>alert(2)</script>",
        with_measurements=False,
    )
    place(rec, 10.0, 10.0)
    page = alice_client.get("/map/").text
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert "<script" not in svg and "<img" not in svg
    assert "alert(1)>" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg  # the point's title
    assert "&lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in svg
    assert "&quot;&gt;&lt;script&gt;alert(&quot;name&quot;)" in svg


def test_a_selection_without_locations_says_so(alice_client: Client, alice: User) -> None:
    make_recording(collector=alice)
    page = alice_client.get("/map/").text
    assert "None of these recordings has a location." in page
    assert "<svg" not in page


def test_a_bad_filter_is_a_400_naming_it(alice_client: Client, db: None) -> None:
    response = alice_client.get("/map/?bbox=170,-10,-170,10")
    assert response.status_code == 400
    assert "antimeridian" in response.text


def test_the_catalogue_links_to_the_map_with_its_filters(
    alice_client: Client, sites: list[m.Recording]
) -> None:
    page = alice_client.get("/recordings/?region=Ashanti&sort=-laeq").text
    assert 'id="map-link" href="/map/?region=Ashanti"' in page
    assert '<a href="/map/"' in page  # the main navigation


def test_the_region_outlines_are_drawn_and_said_to_be_guesses(
    alice_client: Client, sites: list[m.Recording]
) -> None:
    page = alice_client.get("/map/").text
    assert page.count('class="map-region"') == len(json.loads(SHIPPED.read_text())["features"])
    assert ">Greater Accra</text>" in page
    assert "not administrative borders" in page


def test_the_shipped_outlines_are_the_demo_regions_hulls() -> None:
    """NOISEBANK_UPDATE_GOLDEN=1 rewrites the file (after a change to demo.REGIONS)."""
    if os.environ.get("NOISEBANK_UPDATE_GOLDEN") == "1":
        SHIPPED.write_text(demo_regions_file(), encoding="utf-8")
    assert SHIPPED.read_text(encoding="utf-8") == demo_regions_file()
    for feature in json.loads(demo_regions_file())["features"]:
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 4


def test_an_installs_own_outlines_are_drawn_with_their_names_escaped(
    alice_client: Client, sites: list[m.Recording], settings: Any, tmp_path: Path
) -> None:
    square = [[-1.0, 5.0], [0.0, 5.0], [0.0, 6.0], [-1.0, 6.0], [-1.0, 5.0]]
    hostile = '<svg onload="alert(1)">Région & "Co"'
    own = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": hostile},
             "geometry": {"type": "Polygon", "coordinates": [square]}},
            {"type": "Feature", "properties": {"name": "Two parts"},
             "geometry": {"type": "MultiPolygon", "coordinates": [[square], [square]]}},
            {"type": "Feature", "properties": {"name": "A point, not an area"},
             "geometry": {"type": "Point", "coordinates": [0.0, 5.0]}},
        ],
    }  # fmt: skip
    (tmp_path / "noisebank").mkdir()
    (tmp_path / REGIONS_FILE).write_text(json.dumps(own), encoding="utf-8")
    settings.STATICFILES_DIRS = [tmp_path]
    page = alice_client.get("/map/").text
    assert page.count('class="map-region"') == 3
    assert "&lt;svg onload=&quot;alert(1)&quot;&gt;Région &amp; &quot;Co&quot;</text>" in page
    assert 'onload="alert(1)"' not in page
    assert "A point, not an area" not in page
