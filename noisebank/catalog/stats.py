"""Statistics of a selection: what the rows a filter selects hold, before anyone exports them.

    selection_stats(parse_filters(request.GET, access=...))  ->  SelectionStats (a dict)

The same RecordingFilter as the list and every export, so the figures are about exactly the
rows an export of that filter would hold. Everything is computed by the database (counts, sums,
minima and maxima, 1 dB histogram bins), the percentiles too on PostgreSQL (percentile_cont);
on SQLite they are read as the one or two values at their ordered positions (linear
interpolation between closest ranks, as numpy's default and percentile_cont).
"""

import math
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Max, Min, Sum
from django.db.models.functions import Floor

from noisebank.catalog.filters import RecordingFilter
from noisebank.catalog.models import NoiseAnalysis, Recording, RecordingQuerySet

PERCENTILES = {"p10": 0.10, "median": 0.50, "p90": 0.90}
# Breakdown -> (the Recording field grouped by, the field naming a group, or None: the value).
GROUPS: dict[str, tuple[str, str | None]] = {
    "category": ("category_id", "category__name"),
    "class": ("sound_class_id", "sound_class__name"),
    "region": ("region_id", "region__name"),
    "status": ("status", None),
    "unit": ("level_unit", None),
}


def selection_stats(filters: RecordingFilter) -> dict[str, Any]:
    selection = Recording.objects.matching(filters)
    audio = selection.exclude(audio="").aggregate(files=Count("id"), bytes=Sum("size_bytes"))
    return {
        "count": selection.count(),
        "by": {name: _groups(selection, *fields) for name, fields in GROUPS.items()},
        "laeq_histogram": _level_histogram(selection),
        "laeq": {
            unit: _distribution(selection.filter(level_unit=unit), "laeq")
            for unit in NoiseAnalysis.Unit.values
        },
        "duration_s": _distribution(selection, "duration_s"),
        "audio_files": audio["files"],
        "audio_bytes": audio["bytes"] or 0,
    }


def _groups(selection: RecordingQuerySet, key: str, label: str | None) -> list[dict[str, Any]]:
    """Groups, largest first (then by name and id); rows without a value are one group, named
    null, after the others of its size."""
    fields = [key, label] if label else [key]
    rows = selection.order_by().values(*fields).annotate(n=Count("id"))
    groups = [
        {
            "id": row[key] if label else None,
            "name": row[label] if label else row[key],
            "count": row["n"],
        }
        for row in rows
    ]
    return sorted(
        groups, key=lambda g: (-g["count"], g["name"] is None, g["name"] or "", g["id"] or 0)
    )


def _level_histogram(selection: RecordingQuerySet) -> dict[str, list[dict[str, Any]]]:
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
