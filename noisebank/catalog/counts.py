"""How many recordings a filter selects, and their statistics, computed once per filter and
data version.

Counting a million rows costs more than reading a page of them, and the answer only changes
when the data does. The data version is max(id) and max(updated_at) of the recordings (both
answered from an index): adding a recording or changing one (measuring sets updated_at too)
starts new counts, and so does every write of measurements (Recording.copy_measurements moves
updated_at). A deleted row moves neither, so an entry also expires after COUNT_CACHE_SECONDS.
The cache is Django's (per process unless CACHES says otherwise).
"""

import hashlib
from dataclasses import replace
from typing import Any

from django.core.cache import cache
from django.db.models import Max

from noisebank.catalog.filters import RecordingFilter
from noisebank.catalog.models import Recording
from noisebank.catalog.stats import selection_stats

COUNT_CACHE_SECONDS = 60


def data_version() -> str:
    seen = Recording.objects.aggregate(top=Max("id"), changed=Max("updated_at"))
    changed = seen["changed"].isoformat() if seen["changed"] else "-"
    return f"{seen['top']}|{changed}"


def _key(kind: str, filters: RecordingFilter) -> str:
    canonical = repr(replace(filters, params={}))  # ids and bounds, not how they were spelt
    digest = hashlib.sha256(f"{data_version()}|{canonical}".encode()).hexdigest()
    return f"noisebank:{kind}:{digest}"


def cached_count(filters: RecordingFilter, selection: "Any | None" = None) -> int:
    """The count of `selection` (default: the recordings `filters` matches)."""
    key = _key("recording-count", filters)
    count = cache.get(key)
    if count is None:
        if selection is None:
            selection = Recording.objects.matching(filters)
        count = selection.count()
        cache.set(key, count, COUNT_CACHE_SECONDS)
    return int(count)


def cached_stats(filters: RecordingFilter) -> dict[str, Any]:
    """selection_stats(filters), computed once per filter and data version."""
    key = _key("selection-stats", filters)
    stats = cache.get(key)
    if stats is None:
        stats = selection_stats(filters)
        cache.set(key, stats, COUNT_CACHE_SECONDS)
    return stats
