"""{% export_panel_choices as choices %}: what the export panel offers, from the registries, so
the panel can be included in any page without that page's view knowing about it."""

from typing import Any

from django import template

from noisebank.exports.columns import COLUMNS, PRESET_HELP, PRESETS
from noisebank.exports.engine.writers import WRITERS, WriterOptions
from noisebank.exports.services import FORMATS

register = template.Library()

FORMAT_LABELS = {
    "csv": "CSV",
    "xlsx": "Excel (XLSX)",
    "parquet": "Parquet",
    "jsonl": "JSON Lines",
    "zip": "ZIP with audio",
}
# The first is chosen when the page opens: the original columns and the levels, the export most
# people want and half the cost of all 112 columns.
PANEL_PRESETS = ("default", "all", "metadata", "acoustics")


@register.simple_tag
def export_panel_choices() -> dict[str, Any]:
    return {
        "formats": [(f, FORMAT_LABELS.get(f, f)) for f in FORMATS if f in WRITERS],
        "presets": [(p, len(PRESETS[p]), PRESET_HELP[p]) for p in PANEL_PRESETS],
        "columns": [(c.name, c.column.label) for c in COLUMNS.values()],
        "folder_template": WriterOptions.folder_template,
    }
