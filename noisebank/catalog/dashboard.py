"""The dashboard: the catalogue a user sees, in figures, charts and recent work.

Every figure comes from catalog.stats.selection_stats of the catalogue's own filter (as the
user's access parses it; cached per filter and data version, as the API's stats are), and every
bar links to the catalogue filtered to what it shows, so a bar's count is the count of the page
it opens.
"""

import calendar
import math
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from noisebank.accounts.roles import action_required, is_admin, may, review_access
from noisebank.catalog import models as m
from noisebank.catalog.counts import cached_stats
from noisebank.catalog.filters import FilterError, RecordingFilter, parse_filters
from noisebank.exports.api import visible_jobs
from noisebank.lib.charts import Bar, bar_chart

RECENT = 8  # rows of recent uploads and exports
FAILED_SHOWN = 10
BUSY = (m.Recording.Status.PENDING, m.Recording.Status.PROCESSING, m.Recording.Status.FAILED)

Items = list[tuple[str, str]]


def catalogue_url(base: Items, *more: tuple[str, str]) -> str:
    """The catalogue filtered to the dashboard's selection and to what a bar shows."""
    return f"{reverse('recording-list')}?{urlencode([*base, *more])}"


def month_bars(months: list[dict[str, Any]], base: Items) -> list[Bar]:
    """{"month": "YYYY-MM", "count"} oldest first, the months between them as empty bars; a
    bar links to that month, first to last day (recorded_to includes its whole day, UTC)."""
    counts = {row["month"]: row["count"] for row in months}
    if not counts:
        return []
    year, month = map(int, months[0]["month"].split("-"))
    last = tuple(map(int, months[-1]["month"].split("-")))
    bars = []
    while (year, month) <= last:
        key = f"{year:04d}-{month:02d}"
        n = counts.get(key, 0)
        days = calendar.monthrange(year, month)[1]
        href = catalogue_url(
            base, ("recorded_from", f"{key}-01"), ("recorded_to", f"{key}-{days:02d}")
        )
        bars.append(Bar(key, n, href if n else None))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return bars


def group_bars(groups: list[dict[str, Any]], param: str, base: Items) -> list[Bar]:
    """One bar a group of a breakdown; rows with no value (no filter selects them) unlinked."""
    return [
        Bar(
            g["name"] if g["name"] is not None else "(none)",
            g["count"],
            catalogue_url(base, (param, str(g["name"]))) if g["name"] is not None else None,
        )
        for g in groups
    ]


def level_bars(bins: list[dict[str, Any]], unit: str, base: Items) -> list[Bar]:
    """1 dB bins [low, low + 1), the empty ones between included. laeq_max is inclusive, so a
    bin's link ends at the largest float below low + 1: it selects exactly the bin's rows."""
    if not bins:
        return []
    counts = {b["low"]: b["count"] for b in bins}
    bars = []
    low = bins[0]["low"]
    while low <= bins[-1]["low"]:
        n = counts.get(low, 0)
        top = math.nextafter(low + 1, -math.inf)
        href = catalogue_url(
            base, ("laeq_min", f"{low:g}"), ("laeq_max", repr(top)), ("unit", unit)
        )
        bars.append(Bar(f"{low:g} to {low + 1:g} {unit}", n, href if n else None))
        low += 1
    return bars


def _filters(request: HttpRequest, **more: str) -> RecordingFilter:
    """The catalogue's default selection; those who may see every review state may ask for it
    (review=all), as in the catalogue. Other filters belong to the catalogue page."""
    given = {"review": request.GET.getlist("review"), **{k: [v] for k, v in more.items()}}
    return parse_filters(given, access=review_access(request.user))


@action_required("dashboard")
def dashboard(request: HttpRequest) -> HttpResponse:
    try:
        filters = _filters(request)
    except FilterError as e:
        return render(request, "catalog/dashboard.html", {"errors": e.messages}, status=400)
    base = filters.query_items()
    stats = cached_stats(filters)
    by = stats["by"]
    statuses = {g["name"]: g["count"] for g in by["status"]}
    failed = (
        m.Recording.objects.matching(_filters(request, status=m.Recording.Status.FAILED))
        .order_by("-updated_at", "-id")
        .only("noise_id", "name", "error", "updated_at")[:FAILED_SHOWN]
    )
    recent = (
        m.Recording.objects.matching(filters)
        .select_related("collector")
        .order_by("-created_at", "-id")
        .only("noise_id", "name", "created_at", "status", "collector__username")[:RECENT]
    )
    exports = visible_jobs(request.user).order_by("-created_at")[:RECENT]
    context = {
        "stats": stats,
        "review_all": bool(set(filters.review_states) - {m.Recording.Review.ACCEPTED}),
        "can_choose_review": len(review_access(request.user).states) > 1,
        "catalogue_url": catalogue_url(base),
        "months_chart": bar_chart(
            month_bars(stats["recorded_by_month"], base),
            title="Recordings per month (recording date, UTC)",
            value_header="Recordings",
        ),
        "recorded_unknown": stats["recorded_unknown"],
        "category_chart": bar_chart(
            group_bars(by["category"], "category", base),
            title="Recordings per category",
            horizontal=True,
            value_header="Recordings",
        ),
        "region_chart": bar_chart(
            group_bars(by["region"], "region", base),
            title="Recordings per region",
            horizontal=True,
            value_header="Recordings",
        ),
        "level_charts": [
            (
                unit,
                bar_chart(
                    level_bars(bins, unit, base),
                    title=f"LAeq in {unit}, 1 dB bins",
                    value_header="Recordings",
                ),
            )
            for unit, bins in stats["laeq_histogram"].items()
            if bins
        ],
        "statuses": [(s, statuses.get(s, 0), catalogue_url(base, ("status", s))) for s in BUSY],
        "failed": list(failed),
        "recent": list(recent),
        "exports": list(exports) if may(request.user, "export") else None,
        "show_owner": is_admin(request.user),
    }
    return render(request, "catalog/dashboard.html", context)
