"""selection_stats equals the same figures computed directly, in Python, from the rows the
filter selects (numpy for the percentiles), for a matrix of filters, on SQLite and PostgreSQL."""

import bisect
import math
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.http import QueryDict

from noisebank.catalog import models as m
from noisebank.catalog.filters import parse_filters
from noisebank.catalog.stats import DURATION_EDGES, selection_stats
from noisebank.lib import checks
from noisebank.testing import make_awkward_recordings, make_recording

FILTERS = [
    "",
    "category=Ambience",
    "unit=dBFS",
    "unit=dB+SPL&has_audio=no",
    "has_audio=yes",
    "region=Ashanti&laeq_min=70",
    "calibrated=no",
    "bbox=-20,-40,90,-30",
    "status=failed",
    "collector=bob",
    "time_of_day=Evening&dataset_type=Mixed",
    "recorded_from=2026-01-01",
    "clipped=yes",
    "q=nothing+matches+this",
]


@pytest.fixture
def catalogue(alice: User, bob: User) -> None:
    make_awkward_recordings(collector=alice)
    bob.first_name, bob.last_name = "Bob", "Mensah"  # shown by his name, not his user name
    bob.save()
    for i in range(9):
        make_recording(
            collector=bob if i % 3 == 1 else alice,
            # Months of two years, and the first of a month at midnight UTC (not the month
            # before in any zone west of UTC).
            recorded_at=datetime(2026 - i % 2, 1 + i, 1, 0, 0, tzinfo=UTC),
            category="Warning signals" if i % 2 else "Train pass-by",
            sound_class="Horn" if i % 2 else "Freight train",
            region="Ashanti" if i % 3 else "Western",
            analysis={
                "laeq": 60.0 + 3.7 * i,
                "lafmax": 70.0 + 4.1 * i,
                "la90": None if i == 5 else 50.0 + 1.3 * i,
                "unit": m.NoiseAnalysis.Unit.DB_SPL,
                # Flagged clipped above 0.1 %: one row at the limit (not), two above.
                "clipped_share": [0.0, 0.001, 0.0011, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0][i],
            },
            features={"duration_s": [0.0, 1.0, 4.9, 30.0, 59.5, 600.0, 3599.0, 86400.0, 2e5][i]},
            audio=f"audio/x{i}.wav" if i % 4 == 0 else "",
            size_bytes=1000 * i if i % 4 == 0 else None,
        )
    undated = make_recording(
        analysis={"laeq": 70.0}, features={"duration_s": 1.0}, region="Ashanti"
    )
    m.Recording.objects.filter(pk=undated.pk).update(recorded_at=None)


def direct(query: str) -> dict[str, Any]:
    """The figures from the rows themselves, one by one."""
    rows = list(
        m.Recording.objects.matching(parse_filters(QueryDict(query))).select_related(
            "category",
            "sound_class",
            "region",
            "community",
            "dataset_type",
            "time_of_day",
            "collector",
            "analysis",
            "features",
        )
    )

    def groups(key: Any) -> list[dict[str, Any]]:
        counted = Counter(key(r) for r in rows)
        out = [{"id": i, "name": n, "count": c} for (i, n), c in counted.items()]
        return sorted(
            out, key=lambda g: (-g["count"], g["name"] is None, g["name"] or "", g["id"] or 0)
        )

    def taxon(name: str) -> Any:
        def key(r: m.Recording) -> tuple[int | None, str | None]:
            t = getattr(r, name)
            return (t.pk, t.name) if t else (None, None)

        return key

    def analysis(r: m.Recording) -> m.NoiseAnalysis | None:
        return getattr(r, "analysis", None)

    def distribution(values: list[float]) -> dict[str, Any]:
        if not values:
            return {"n": 0, "min": None, "p10": None, "median": None, "p90": None, "max": None}
        p10, median, p90 = np.percentile(values, [10, 50, 90])
        return {
            "n": len(values), "min": min(values), "p10": p10, "median": median, "p90": p90,
            "max": max(values),
        }  # fmt: skip

    def collector(r: m.Recording) -> tuple[int | None, str | None]:
        user = r.collector
        return (user.pk, user.get_full_name() or user.username) if user else (None, None)

    def level(name: str) -> dict[str, list[float]]:
        values: dict[str, list[float]] = {u: [] for u in m.NoiseAnalysis.Unit.values}
        for r in rows:
            a = analysis(r)
            if a is not None and getattr(a, name) is not None:
                values[a.unit].append(getattr(a, name))
        return values

    levels = level("laeq")
    histogram = {
        unit: [
            {"low": float(low), "high": float(low + 1), "count": n}
            for low, n in sorted(Counter(math.floor(v) for v in values).items())
        ]
        for unit, values in levels.items()
    }
    durations = [r.features.duration_s for r in rows if hasattr(r, "features")]
    edges = [*map(float, DURATION_EDGES), None]
    duration_bins = Counter(bisect.bisect_right(DURATION_EDGES, d) - 1 for d in durations)
    months = Counter(r.recorded_at.astimezone(UTC).strftime("%Y-%m") for r in rows if r.recorded_at)
    with_audio = [r for r in rows if r.audio.name]
    return {
        "count": len(rows),
        "by": {
            "category": groups(taxon("category")),
            "class": groups(taxon("sound_class")),
            "region": groups(taxon("region")),
            "community": groups(taxon("community")),
            "dataset_type": groups(taxon("dataset_type")),
            "time_of_day": groups(taxon("time_of_day")),
            "collector": groups(collector),
            "status": groups(lambda r: (None, r.status)),
            "unit": groups(lambda r: (None, a.unit if (a := analysis(r)) else None)),
        },
        "laeq_histogram": histogram,
        **{
            name: {unit: distribution(values) for unit, values in level(name).items()}
            for name in ("laeq", "lafmax", "la90")
        },
        "duration_s": distribution(durations),
        "duration_histogram": [
            {"low": edges[i], "high": edges[i + 1], "count": n}
            for i, n in sorted(duration_bins.items())
        ],
        "recorded_by_month": [{"month": k, "count": n} for k, n in sorted(months.items())],
        "recorded_unknown": sum(1 for r in rows if r.recorded_at is None),
        "clipped": sum(
            1
            for r in rows
            if (a := analysis(r)) and (a.clipped_share or 0) > checks.CLIPPED_SHARE_LIMIT
        ),
        "audio_files": len(with_audio),
        "audio_bytes": sum(r.size_bytes or 0 for r in with_audio),
    }


def assert_same(got: Any, expected: Any, where: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys(), where
        for k in expected:
            assert_same(got[k], expected[k], f"{where}.{k}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert_same(g, e, f"{where}[{i}]")
    elif isinstance(expected, float | np.floating):
        assert math.isclose(got, float(expected), rel_tol=1e-12, abs_tol=1e-12), where
    else:
        assert got == expected, where


@pytest.mark.parametrize("query", FILTERS)
def test_stats_equal_a_direct_computation(catalogue: None, query: str) -> None:
    got = selection_stats(parse_filters(QueryDict(query)))
    expected = direct(query)
    assert_same(got, expected, query or "(no filter)")


def test_the_matrix_covers_empty_single_and_mixed_selections(catalogue: None) -> None:
    counts = {q: selection_stats(parse_filters(QueryDict(q)))["count"] for q in FILTERS}
    total = counts[""]
    assert counts["q=nothing+matches+this"] == 0
    assert all(0 < counts[q] < total for q in FILTERS[1:-1]), counts
    both = selection_stats(parse_filters(QueryDict("")))
    assert all(both["laeq_histogram"][u] for u in m.NoiseAnalysis.Unit.values)
    assert both["audio_files"] > 0 and both["audio_bytes"] > 2**40  # big sizes add up exactly
    assert both["recorded_unknown"] == 1 and len(both["recorded_by_month"]) > 9
    assert both["duration_histogram"][-1] == {"low": 86400.0, "high": None, "count": 2}
    assert {"Bob Mensah", "alice"} <= {g["name"] for g in both["by"]["collector"]}
    assert all(both[level]["dB SPL"]["n"] for level in ("laeq", "lafmax", "la90"))
    assert both["clipped"] == 2


def test_percentiles_interpolate_between_ranks(alice: User) -> None:
    for duration in (1.0, 2.0, 3.0, 4.0, 10.0):
        make_recording(collector=alice, features={"duration_s": duration})
    got = selection_stats(parse_filters(QueryDict("")))["duration_s"]
    assert (got["n"], got["min"], got["median"], got["max"]) == (5, 1.0, 3.0, 10.0)
    assert math.isclose(got["p10"], 1.4) and math.isclose(got["p90"], 7.6)  # 1 + 0.4; 4 + 0.6 * 6


def test_stats_cost_a_fixed_number_of_queries_whatever_the_size(
    catalogue: None, django_assert_num_queries: Any
) -> None:
    # count, clipped, audio, 9 breakdowns, the LAeq and duration histograms, the months, then an
    # aggregate and (SQLite) 3 percentiles each for LAeq, LAFmax and LA90 of 2 units and for
    # duration; PostgreSQL reads the percentiles with the aggregate
    postgres = connection.vendor == "postgresql"
    with django_assert_num_queries(15 + (1 if postgres else 4) * (3 * 2 + 1)):
        selection_stats(parse_filters(QueryDict("")))
    ambience = parse_filters(QueryDict("category=Ambience"))  # the name is resolved here
    # SQLite: all of them dB SPL, no dBFS percentiles to read
    with django_assert_num_queries(22 if postgres else 43 - 3 * 3):
        selection_stats(ambience)
