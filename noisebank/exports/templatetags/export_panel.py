"""{% export_panel_choices as choices %}: what the export panel offers, from the registries, so
the panel can be included in any page without that page's view knowing about it.

{% export_panel_selection as selection %}: what an export of the page's selection would hold
(rows, audio files and their bytes), when the page's context has its parsed `filters`."""

from typing import Any

from django import template

from noisebank.catalog.counts import cached_audio_totals, cached_count
from noisebank.catalog.filters import RecordingFilter
from noisebank.exports.columns import COLUMNS, PRESET_HELP, PRESETS
from noisebank.exports.dataset_options import GROUP_COLUMNS, LABEL_COLUMNS
from noisebank.exports.engine.writers import WRITERS, WriterOptions
from noisebank.exports.services import FORMATS

register = template.Library()

FORMAT_LABELS = {
    "csv": "CSV",
    "xlsx": "Excel (XLSX)",
    "parquet": "Parquet",
    "jsonl": "JSON Lines",
    "geojson": "GeoJSON (map points)",
    "zip": "ZIP with audio",
}
# The first is chosen when the page opens: the original columns and the levels, the export most
# people want and half the cost of all 112 columns.
PANEL_PRESETS = ("default", "all", "metadata", "acoustics")
GROUP_LABELS = {"community": "site (community)", "recording_device": "device"}
SAMPLE_RATES = (8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)


@register.simple_tag
def export_panel_choices() -> dict[str, Any]:
    return {
        "formats": [(f, FORMAT_LABELS.get(f, f)) for f in FORMATS if f in WRITERS],
        "presets": [(p, len(PRESETS[p]), PRESET_HELP[p]) for p in PANEL_PRESETS],
        "columns": [(c.name, c.column.label) for c in COLUMNS.values()],
        "folder_template": WriterOptions.folder_template,
        "label_columns": LABEL_COLUMNS,
        "group_columns": [(g, GROUP_LABELS.get(g, g)) for g in GROUP_COLUMNS],
        "sample_rates": SAMPLE_RATES,
    }


@register.simple_tag(takes_context=True)
def export_panel_selection(context: template.Context) -> dict[str, int] | None:
    """The catalogue's figures (catalog.counts: cached per filter and data version, the same
    definitions as catalog.stats and /api/v1/stats); None on a page without filters."""
    filters = context.get("filters")
    if not isinstance(filters, RecordingFilter):
        return None
    total = context.get("total")  # the page's own count of them, when it shows one
    rows = total if isinstance(total, int) else cached_count(filters)
    return {"rows": rows, **cached_audio_totals(filters)}
