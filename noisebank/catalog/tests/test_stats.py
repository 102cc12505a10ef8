"""selection_stats equals the same figures computed directly, in Python, from the rows the
filter selects (numpy for the percentiles), for a matrix of filters, on SQLite and PostgreSQL."""

import math
from collections import Counter
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.http import QueryDict

from noisebank.catalog import models as m
from noisebank.catalog.filters import parse_filters
from noisebank.catalog.stats import selection_stats
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
    "q=nothing+matches+this",
]


@pytest.fixture
def catalogue(alice: User) -> None:
    make_awkward_recordings(collector=alice)
    for i in range(9):
        make_recording(
            collector=alice,
            category="Warning signals" if i % 2 else "Train pass-by",
            sound_class="Horn" if i % 2 else "Freight train",
            region="Ashanti" if i % 3 else "Western",
            analysis={"laeq": 60.0 + 3.7 * i, "unit": m.NoiseAnalysis.Unit.DB_SPL},
            features={"duration_s": 2.5 * i},
            audio=f"audio/x{i}.wav" if i % 4 == 0 else "",
            size_bytes=1000 * i if i % 4 == 0 else None,
        )
    make_recording(analysis={"laeq": 70.0}, features={"duration_s": 1.0}, region="Ashanti")


def direct(query: str) -> dict[str, Any]:
    """The figures from the rows themselves, one by one."""
    rows = list(
        m.Recording.objects.matching(parse_filters(QueryDict(query))).select_related(
            "category", "sound_class", "region", "analysis", "features"
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

    levels: dict[str, list[float]] = {u: [] for u in m.NoiseAnalysis.Unit.values}
    for r in rows:
        a = analysis(r)
        if a is not None and a.laeq is not None:
            levels[a.unit].append(a.laeq)
    histogram = {
        unit: [
            {"low": float(low), "high": float(low + 1), "count": n}
            for low, n in sorted(Counter(math.floor(v) for v in values).items())
        ]
        for unit, values in levels.items()
    }
    durations = [r.features.duration_s for r in rows if hasattr(r, "features")]
    with_audio = [r for r in rows if r.audio.name]
    return {
        "count": len(rows),
        "by": {
            "category": groups(taxon("category")),
            "class": groups(taxon("sound_class")),
            "region": groups(taxon("region")),
            "status": groups(lambda r: (None, r.status)),
            "unit": groups(lambda r: (None, a.unit if (a := analysis(r)) else None)),
        },
        "laeq_histogram": histogram,
        "laeq": {unit: distribution(values) for unit, values in levels.items()},
        "duration_s": distribution(durations),
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


def test_percentiles_interpolate_between_ranks(alice: User) -> None:
    for duration in (1.0, 2.0, 3.0, 4.0, 10.0):
        make_recording(collector=alice, features={"duration_s": duration})
    got = selection_stats(parse_filters(QueryDict("")))["duration_s"]
    assert (got["n"], got["min"], got["median"], got["max"]) == (5, 1.0, 3.0, 10.0)
    assert math.isclose(got["p10"], 1.4) and math.isclose(got["p90"], 7.6)  # 1 + 0.4; 4 + 0.6 * 6


def test_stats_cost_a_fixed_number_of_queries_whatever_the_size(
    catalogue: None, django_assert_num_queries: Any
) -> None:
    # count, audio, 5 breakdowns, the histogram, LAeq of 2 units and duration: an aggregate
    # and (SQLite) 3 percentiles each; PostgreSQL reads the percentiles with the aggregate
    postgres = connection.vendor == "postgresql"
    with django_assert_num_queries(11 if postgres else 20):
        selection_stats(parse_filters(QueryDict("")))
    ambience = parse_filters(QueryDict("category=Ambience"))  # the name is resolved here
    with django_assert_num_queries(11 if postgres else 17):  # SQLite: no dBFS rows to read
        selection_stats(ambience)
