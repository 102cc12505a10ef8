"""How many recordings a filter selects (and how many audio files, and their statistics),
computed once per filter and data version.

Counting a million rows costs more than reading a page of them, and the answer only changes
when the data does. The data version is max(id) and max(updated_at) of the recordings (both
answered from an index): adding a recording or changing one (measuring sets updated_at too)
starts new counts, and so does every write of measurements (Recording.copy_measurements moves
updated_at). A deleted row moves neither, so an entry also expires after
COUNT_CACHE_SECONDS. The cache is Django's (per process unless CACHES says otherwise).
"""

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from django.core.cache import cache
from django.db.models import Subquery

from noisebank.catalog.filters import RecordingFilter
from noisebank.catalog.models import Recording
from noisebank.catalog.stats import audio_totals, selection_stats

COUNT_CACHE_SECONDS = 60
T = TypeVar("T")


def data_version() -> str:
    # The newest row by id, and the latest updated_at beside it: one query, each an index read.
    # (MAX(id), MAX(updated_at) in one SELECT scans a whole index on SQLite, 4-8 ms at 23,453
    # rows, and the page asks twice: its count and the export panel's audio files.)
    newest = Recording.objects.order_by("-id").values("id")[:1]
    changed = Recording.objects.order_by("-updated_at").values("updated_at")[:1]
    seen = (
        Recording.objects.filter(pk=Subquery(newest))
        .annotate(changed=Subquery(changed))
        .order_by()
        .values_list("id", "changed")
        .first()
    )
    top, last = seen if seen else (None, None)
    return f"{top}|{last.isoformat() if last else '-'}"


def _cached(filters: RecordingFilter, what: str, compute: Callable[[], T]) -> T:
    canonical = repr(replace(filters, params={}))  # ids and bounds, not how they were spelt
    digest = hashlib.sha256(f"{data_version()}|{canonical}".encode()).hexdigest()
    key = f"noisebank:{what}:{digest}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, COUNT_CACHE_SECONDS)
    return value


def cached_count(filters: RecordingFilter, selection: "Any | None" = None) -> int:
    """The count of `selection` (default: the recordings `filters` matches)."""
    chosen = Recording.objects.matching(filters) if selection is None else selection
    return int(_cached(filters, "recording-count", chosen.count))


def cached_audio_totals(filters: RecordingFilter) -> dict[str, int]:
    """stats.audio_totals of the recordings `filters` matches: audio_files, audio_bytes."""
    return _cached(
        filters, "audio-totals", lambda: audio_totals(Recording.objects.matching(filters))
    )


def cached_stats(filters: RecordingFilter) -> dict[str, Any]:
    """selection_stats(filters), computed once per filter and data version."""
    return _cached(filters, "selection-stats", lambda: selection_stats(filters))
