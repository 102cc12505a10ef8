"""Statistics of a selection: what the rows a filter selects hold, before anyone exports them.

    selection_stats(parse_filters(request.GET, access=...))  ->  SelectionStats (a dict)

The same RecordingFilter as the list and every export, so the figures are about exactly the
rows an export of that filter would hold. Everything is computed by the database (counts, sums,
minima and maxima, histogram bins, months), the percentiles too on PostgreSQL (percentile_cont);
on SQLite they are read as the one or two values at their ordered positions (linear
interpolation between closest ranks, as numpy's default and percentile_cont). Levels, units and
durations are read from the recording's copies of them (Recording.copy_measurements).

The pieces (audio_totals, breakdown, level_histogram) are public: the catalogue's summary panel
and the export panel show a few of them without paying for the rest.
"""

import math
from datetime import UTC
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Floor, TruncMonth

from noisebank.catalog.filters import RecordingFilter
from noisebank.catalog.models import (
    MEASURED_COPIES,
    NoiseAnalysis,
    Recording,
    RecordingQuerySet,
)
from noisebank.lib import checks

PERCENTILES = {"p10": 0.10, "median": 0.50, "p90": 0.90}
# Breakdown -> (the Recording field grouped by, the field naming a group, or None: the value).
GROUPS: dict[str, tuple[str, str | None]] = {
    "category": ("category_id", "category__name"),
    "class": ("sound_class_id", "sound_class__name"),
    "region": ("region_id", "region__name"),
    "community": ("community_id", "community__name"),
    "dataset_type": ("dataset_type_id", "dataset_type__name"),
    "time_of_day": ("time_of_day_id", "time_of_day__name"),
    "collector": ("collector_id", "collector__username"),
    "status": ("status", None),
    "unit": ("level_unit", None),
}
# A collector is shown by their full name (first and last), else their user name: never their
# e-mail address.
COLLECTOR_NAME = ("collector__first_name", "collector__last_name")
# Levels given as a distribution per unit (dBFS and dB SPL never mix).
LEVELS = ("laeq", "lafmax", "la90")
# Duration bins, seconds: [edge, next edge), the last one open ([1 day, ∞): "high" is null).
# Uneven on purpose: clips of a few seconds and day-long monitoring runs both occur.
DURATION_EDGES: tuple[float, ...] = (
    0, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400,
)  # fmt: skip


def selection_stats(filters: RecordingFilter) -> dict[str, Any]:
    selection = Recording.objects.matching(filters)
    months, unknown = _recorded_by_month(selection)
    return {
        "count": selection.count(),
        "by": {name: breakdown(selection, name) for name in GROUPS},
        "laeq_histogram": level_histogram(selection),
        **{level: _level_distributions(selection, level) for level in LEVELS},
        "duration_s": _distribution(selection, "duration_s"),
        "duration_histogram": _duration_histogram(selection),
        "recorded_by_month": months,
        "recorded_unknown": unknown,
        "clipped": selection.filter(clipped_share__gt=checks.CLIPPED_SHARE_LIMIT).count(),
        **audio_totals(selection),
    }


def audio_totals(selection: RecordingQuerySet) -> dict[str, int]:
    """How many of the rows have a stored audio file, and their bytes (unknown sizes: 0)."""
    audio = selection.exclude(audio="").aggregate(files=Count("id"), bytes=Sum("size_bytes"))
    return {"audio_files": audio["files"], "audio_bytes": audio["bytes"] or 0}


def breakdown(selection: RecordingQuerySet, name: str) -> list[dict[str, Any]]:
    """Groups of GROUPS[name], largest first (then by name and id); rows without a value are one
    group, named null, after the others of its size."""
    key, label = GROUPS[name]
    fields = [key, label] if label else [key]
    if name == "collector":
        fields += COLLECTOR_NAME
    rows = selection.order_by().values(*fields).annotate(n=Count("id"))
    groups = [
        {
            "id": row[key] if label else None,
            "name": _group_name(row, name, label or key),
            "count": row["n"],
        }
        for row in rows
    ]
    return sorted(
        groups, key=lambda g: (-g["count"], g["name"] is None, g["name"] or "", g["id"] or 0)
    )


def _group_name(row: dict[str, Any], name: str, label: str) -> str | None:
    if name == "collector" and row[label] is not None:
        full = " ".join(row[f] for f in COLLECTOR_NAME if row[f]).strip()
        return full or row[label]
    return row[label]


def level_histogram(selection: RecordingQuerySet) -> dict[str, list[dict[str, Any]]]:
    """1 dB bins of LAeq, [low, low + 1), a list for each unit, lowest bin first."""
    rows = (
        selection.filter(laeq__isnull=False)
        .order_by()
        .annotate(unit=F("level_unit"), low=Floor("laeq"))
        .values("unit", "low")
        .annotate(n=Count("id"))
    )
    bins: dict[str, list[dict[str, Any]]] = {u: [] for u in NoiseAnalysis.Unit.values}
    for row in rows:
        low = float(row["low"])
        bins.setdefault(row["unit"], []).append({"low": low, "high": low + 1, "count": row["n"]})
    for unit_bins in bins.values():
        unit_bins.sort(key=lambda b: b["low"])
    return bins


def _duration_histogram(selection: RecordingQuerySet) -> list[dict[str, Any]]:
    """Bins of DURATION_EDGES holding rows, shortest first (empty bins are left out, as in the
    LAeq histogram); rows without a duration are in none."""
    field = "duration_s"
    index = Case(
        *(When(Q(**{f"{field}__lt": high}), then=Value(i)) for i, high in
          enumerate(DURATION_EDGES[1:])),
        default=Value(len(DURATION_EDGES) - 1),
        output_field=IntegerField(),
    )  # fmt: skip
    rows = (
        selection.filter(**{f"{field}__isnull": False})
        .order_by()
        .annotate(bin=index)
        .values("bin")
        .annotate(n=Count("id"))
    )
    edges = [*map(float, DURATION_EDGES), None]
    return [
        {"low": edges[row["bin"]], "high": edges[row["bin"] + 1], "count": row["n"]}
        for row in sorted(rows, key=lambda r: r["bin"])
    ]


def _recorded_by_month(selection: RecordingQuerySet) -> tuple[list[dict[str, Any]], int]:
    """Rows per UTC month of recorded_at, oldest first, months holding rows only; and the rows
    with no recording time."""
    rows = (
        selection.order_by()
        .annotate(month=TruncMonth("recorded_at", tzinfo=UTC))
        .values("month")
        .annotate(n=Count("id"))
    )
    months, unknown = [], 0
    for row in rows:
        if row["month"] is None:
            unknown = row["n"]
        else:
            months.append(
                {"month": row["month"].astimezone(UTC).strftime("%Y-%m"), "count": row["n"]}
            )
    return sorted(months, key=lambda m: m["month"]), unknown


def _level_distributions(selection: RecordingQuerySet, level: str) -> dict[str, Any]:
    # The recording's copy of a level where it has one (Recording.copy_measurements): no join.
    field = level if level in MEASURED_COPIES else f"analysis__{level}"
    return {
        unit: _distribution(selection.filter(level_unit=unit), field)
        for unit in NoiseAnalysis.Unit.values
    }


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont: the same interpolation as _percentile, in one sort."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)r) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _distribution(selection: RecordingQuerySet, field: str) -> dict[str, Any]:
    """n, min, p10, median, p90, max of a field over the rows holding a value."""
    held = selection.filter(**{f"{field}__isnull": False})
    if connection.vendor == "postgresql":  # one query, not an ORDER BY ... OFFSET per figure
        cuts = {name: PercentileCont(field, fraction=p) for name, p in PERCENTILES.items()}
        got = held.aggregate(n=Count("id"), min=Min(field), **cuts, max=Max(field))
        return {key: got[key] for key in ("n", "min", *PERCENTILES, "max")}
    edges = held.aggregate(n=Count("id"), min=Min(field), max=Max(field))
    n = edges["n"]
    out: dict[str, Any] = {"n": n, "min": edges["min"]}
    ordered = held.order_by(field).values_list(field, flat=True)
    for name, p in PERCENTILES.items():
        out[name] = _percentile(ordered, n, p) if n else None
    out["max"] = edges["max"]
    return out


def _percentile(ordered: Any, n: int, p: float) -> float:
    position = p * (n - 1)
    low = math.floor(position)
    values = [float(v) for v in ordered[low : low + 2]]
    if len(values) == 1 or position == low:
        return values[0]
    return values[0] + (values[1] - values[0]) * (position - low)
