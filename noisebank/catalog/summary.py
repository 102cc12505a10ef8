"""The catalogue's summary panel: how many recordings the filters select, how many audio files
they hold, their LAeq histograms (one per unit) and their top classes, each bar a link to the
catalogue filtered to it.

    GET /recordings/summary/?<filters>

The figures come from catalog.stats, the one definition the API and the exports use. They are
a request of their own so the catalogue page never waits for them: catalogue.js loads this URL
into the page's panel (X-Requested-With: fetch answers the fragment); without JS the page links
here, to a page of its own.
"""

import math
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from noisebank.accounts.roles import can_browse, review_access
from noisebank.catalog import models as m
from noisebank.catalog.counts import cached_audio_totals, cached_count
from noisebank.catalog.filters import FILTER_PARAMETERS, FilterError, RecordingFilter, parse_filters
from noisebank.catalog.stats import breakdown, level_histogram
from noisebank.lib.charts import Bar, bar_chart

TOP_CLASSES = 10


def _number(value: float) -> str:
    """A bound as typed in a URL: the shortest text that reads back as the same float."""
    return repr(float(value)).removesuffix(".0")


def catalogue_link(filters: RecordingFilter, **changes: str) -> str:
    """The catalogue with the filters, some parameters replaced by one value each."""
    items = [(k, v) for k, v in filters.query_items() if k not in changes] + list(changes.items())
    items.sort(key=lambda item: FILTER_PARAMETERS.index(item[0]))
    return reverse("recording-list") + "?" + urlencode(items)


def _bin_link(filters: RecordingFilter, unit: str, low: float, high: float) -> str:
    """The catalogue holding exactly the bin's rows: [low, high) of that unit, within the
    filters' own range (laeq_max is inclusive, so the largest float below high)."""
    least = low if filters.laeq_min is None else max(filters.laeq_min, low)
    below = math.nextafter(high, -math.inf)
    most = below if filters.laeq_max is None else min(filters.laeq_max, below)
    return catalogue_link(filters, unit=unit, laeq_min=_number(least), laeq_max=_number(most))


def level_charts(selection: m.RecordingQuerySet, filters: RecordingFilter) -> list[Any]:
    """An LAeq histogram for each unit holding rows."""
    return [
        bar_chart(
            [
                Bar(
                    f"{b['low']:g}\u2013{b['high']:g}",
                    b["count"],
                    _bin_link(filters, unit, b["low"], b["high"]),
                )
                for b in bins
            ],
            title=f"LAeq, {unit}, 1 dB bins",
            value_header="Recordings",
        )
        for unit, bins in level_histogram(selection).items()
        if bins
    ]


def class_chart(selection: m.RecordingQuerySet, filters: RecordingFilter) -> Any:
    """The largest classes, each linking to the selection narrowed to it: by name, or, where
    another class (of another category) has the same name, by id and labelled with its
    category."""
    top = breakdown(selection, "class")[:TOP_CLASSES]
    names = [g["name"].casefold() for g in top if g["name"] is not None]
    namesakes = list(
        m.SoundClass.objects.annotate(folded=Lower("name"))
        .filter(folded__in=names)
        .values_list("id", "folded", "category__name")
    )
    shared = Counter(folded for _, folded, _ in namesakes)
    category = {pk: name for pk, _, name in namesakes}
    bars = []
    for g in top:
        if g["name"] is None:
            bars.append(Bar("(no class)", g["count"]))
        elif shared[g["name"].casefold()] > 1:
            label = f"{g['name']} ({category.get(g['id'], '?')})"
            bars.append(Bar(label, g["count"], catalogue_link(filters, **{"class": str(g["id"])})))
        else:
            bars.append(Bar(g["name"], g["count"], catalogue_link(filters, **{"class": g["name"]})))
    return bar_chart(bars, title="Top classes", horizontal=True, value_header="Recordings")


def recording_summary(request: HttpRequest) -> HttpResponse:
    if not can_browse(request.user):
        raise PermissionDenied("Browsing the catalogue needs the collector role.")
    fragment = request.headers.get("X-Requested-With") == "fetch"
    template = "catalog/_summary.html" if fragment else "catalog/summary.html"
    try:
        filters = parse_filters(request.GET, access=review_access(request.user))
    except FilterError as e:
        return render(request, template, {"errors": e.messages}, status=400)
    selection = m.Recording.objects.matching(filters)
    items = filters.query_items()
    context = {
        "count": cached_count(filters, selection),
        **cached_audio_totals(filters),
        "level_charts": level_charts(selection, filters),
        "class_chart": class_chart(selection, filters),
        "catalogue_url": reverse("recording-list") + ("?" + urlencode(items) if items else ""),
    }
    response = render(request, template, context)
    # Not kept by the browser: after a change the panel would disagree with the page's count.
    patch_vary_headers(response, ["X-Requested-With"])
    return response
