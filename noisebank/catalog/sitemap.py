"""The map of sites (/map/): the catalogue's selection drawn as points over region outlines,
as server-made SVG with no tile server.

The points are counted in the database on a grid over the view (one GROUP BY, so the page costs
the same at a thousand or a million recordings): a cell with one recording is a point linking to
it, a cell with more a circle sized by its count linking to the catalogue filtered to the box
around that cell's recordings (bbox=west,south,east,north). Cells split the view into half-open
ranges, so those boxes never overlap and each link selects exactly the recordings it counts.
"""

import json
import math
import os
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, F, FloatField, Max, Min, Value
from django.db.models.functions import Floor
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from noisebank.accounts.roles import can_browse, review_access
from noisebank.catalog import models as m
from noisebank.catalog.counts import cached_count
from noisebank.catalog.filters import FilterError, RecordingFilter, parse_filters
from noisebank.lib.geo import View, outline, view_of

REGIONS_FILE = "noisebank/regions.geojson"
OUTLINE_PAD = 0.1  # degrees around each demo site in the shipped outlines
DETAIL_PREFIX = "/recordings/"


@dataclass(frozen=True)
class Cell:
    count: int
    lon: float  # the mean of its recordings: where the mark is drawn
    lat: float
    west: float  # the box around its recordings
    south: float
    east: float
    north: float
    noise_id: str  # the first; the only one when count is 1


def demo_region_outlines() -> dict[str, Any]:
    """What static/noisebank/regions.geojson holds: for each demo region, the convex hull of its
    sites (demo.REGIONS) +-OUTLINE_PAD degrees. Drawn guesses at where the recordings are, not
    administrative borders; an install with real outlines replaces the file."""
    from noisebank.catalog.demo import REGIONS  # numpy and the demo's tables: only when asked

    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": region, "source": "hull of the demo sites +-0.1 degrees"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            list(p)
                            for p in outline([(lon, lat) for _, lat, lon in sites], OUTLINE_PAD)
                        ]
                    ],
                },
            }
            for region, sites in REGIONS.items()
        ],
    }


def demo_regions_file() -> str:
    """The text of static/noisebank/regions.geojson (a test keeps the two equal)."""
    return json.dumps(demo_region_outlines(), ensure_ascii=False) + "\n"


@lru_cache(maxsize=4)
def _read_outlines(path: str, mtime: float) -> list[tuple[str, list[list[tuple[float, float]]]]]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    shapes = []
    for feature in data.get("features", []):
        geometry = feature.get("geometry") or {}
        kind, coordinates = geometry.get("type"), geometry.get("coordinates")
        polygons = (
            [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else []
        )
        rings = [[(float(x), float(y)) for x, y, *_ in poly[0]] for poly in polygons or [] if poly]
        name = str((feature.get("properties") or {}).get("name", ""))
        shapes.append((name, rings))
    return shapes


def region_outlines() -> list[tuple[str, list[list[tuple[float, float]]]]]:
    """(name, outer rings) of each feature of the regions file; [] when there is none."""
    path = finders.find(REGIONS_FILE)
    if not path or isinstance(path, list):
        return []
    return _read_outlines(str(path), os.path.getmtime(path))


def located_cells(selection: Any) -> tuple[View | None, list[Cell]]:
    """The view around the selection's located recordings and its non-empty grid cells."""
    located = selection.filter(latitude__isnull=False, longitude__isnull=False).order_by()
    box = located.aggregate(
        west=Min("longitude"), south=Min("latitude"), east=Max("longitude"), north=Max("latitude")
    )
    if box["west"] is None:
        return None, []
    view = view_of(box["west"], box["south"], box["east"], box["north"])
    cells = (
        located.annotate(
            cx=Floor(
                (F("longitude") - Value(view.west)) / Value(view.cell_width),
                output_field=FloatField(),
            ),
            cy=Floor(
                (F("latitude") - Value(view.south)) / Value(view.cell_height),
                output_field=FloatField(),
            ),
        )
        .values("cx", "cy")
        .annotate(
            count=Count("id"),
            lon=Avg("longitude"),
            lat=Avg("latitude"),
            west=Min("longitude"),
            south=Min("latitude"),
            east=Max("longitude"),
            north=Max("latitude"),
            first=Min("noise_id"),
        )
        .order_by()
    )
    return view, sorted(
        (
            Cell(
                c["count"],
                c["lon"],
                c["lat"],
                c["west"],
                c["south"],
                c["east"],
                c["north"],
                c["first"],
            )
            for c in cells
        ),
        key=lambda c: (-c.lat, c.lon),
    )


def degrees(value: float) -> str:
    """A coordinate as the bbox filter reads it back exactly: no exponent, all its digits."""
    return format(Decimal(repr(value)), "f")


def cell_url(filters: RecordingFilter, cell: Cell) -> str:
    box = ",".join(degrees(v) for v in (cell.west, cell.south, cell.east, cell.north))
    items = [(k, v) for k, v in filters.query_items() if k != "bbox"] + [("bbox", box)]
    return reverse("recording-list") + "?" + urlencode(items)


def _n(value: float) -> str:
    return f"{value:.1f}"


def draw(view: View, cells: list[Cell], filters: RecordingFilter) -> SafeString:
    """The SVG: region outlines and their names, then a mark per cell. Every text is escaped."""
    shapes = []
    for name, rings in region_outlines():
        for ring in rings:
            points = " ".join(f"{_n(view.x(x))},{_n(view.y(y))}" for x, y in ring)
            shapes.append(format_html('<polygon class="map-region" points="{}"/>', points))
        if rings and name:
            ring = rings[0]
            cx = sum(view.x(x) for x, _ in ring) / len(ring)
            cy = sum(view.y(y) for _, y in ring) / len(ring)
            shapes.append(
                format_html(
                    '<text class="map-region-name" x="{}" y="{}">{}</text>', _n(cx), _n(cy), name
                )
            )
    singles = {c.noise_id for c in cells if c.count == 1}
    about = {
        noise_id: (name, region or "no region", community or "no community")
        for noise_id, name, region, community in m.Recording.objects.filter(
            noise_id__in=singles
        ).values_list("noise_id", "name", "region__name", "community__name")
    }
    marks = []
    for c in cells:
        x, y = _n(view.x(c.lon)), _n(view.y(c.lat))
        if c.count == 1:
            name, region, community = about.get(c.noise_id, ("", "", ""))
            marks.append(
                format_html(
                    '<a class="map-point" href="{}" data-count="1"><title>{} · {} · {}, {}</title>'
                    '<circle cx="{}" cy="{}" r="5"/></a>',
                    f"{DETAIL_PREFIX}{c.noise_id}/",
                    c.noise_id,
                    name,
                    community,
                    region,
                    x,
                    y,
                )
            )
        else:
            radius = min(8 + 3.5 * math.log2(c.count), 24)
            marks.append(
                format_html(
                    '<a class="map-cluster" href="{}" data-count="{}"><title>{} recordings '
                    "here: show them in the catalogue</title>"
                    '<circle cx="{}" cy="{}" r="{}"/><text x="{}" y="{}">{}</text></a>',
                    cell_url(filters, c),
                    c.count,
                    f"{c.count:,}",
                    x,
                    y,
                    _n(radius),
                    x,
                    y,
                    f"{c.count:,}",
                )
            )
    body = format_html_join("", "{}", ((s,) for s in [*shapes, *marks]))
    return format_html(
        '<svg class="sitemap" id="sitemap" viewBox="0 0 {} {}" role="img" '
        'aria-labelledby="sitemap-title"><title id="sitemap-title">{}</title>'
        '<rect class="map-sea" width="{}" height="{}"/>{}</svg>',
        _n(view.width),
        _n(view.height),
        f"Map of {sum(c.count for c in cells):,} recording sites",
        _n(view.width),
        _n(view.height),
        body,
    )


def site_map(request: HttpRequest) -> HttpResponse:
    if not can_browse(request.user):
        raise PermissionDenied("Browsing the catalogue needs the collector role.")
    context: dict[str, Any]
    try:
        filters = parse_filters(request.GET, access=review_access(request.user))
    except FilterError as e:
        context = {"errors": e.messages, "catalogue_url": reverse("recording-list")}
        return render(request, "catalog/site_map.html", context, status=400)
    selection = m.Recording.objects.matching(filters)
    view, cells = located_cells(selection)
    located = sum(c.count for c in cells)
    query = urlencode(filters.query_items())
    context = {
        "total": cached_count(filters, selection),
        "located": located,
        "cells": len(cells),
        "clusters": sum(1 for c in cells if c.count > 1),
        "svg": draw(view, cells, filters) if view is not None else None,
        "catalogue_url": reverse("recording-list") + (f"?{query}" if query else ""),
        "is_filtered": bool(query),
        "view": view,
    }
    return render(request, "catalog/site_map.html", context)
