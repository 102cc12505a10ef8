"""Server-made SVG bar charts: no script, no CDN, readable at laptop and phone width.

    bar_chart([Bar("Horn", 120, href="/recordings/?class=Horn"), ...], title="Top classes")

Each bar can be a link (a click lands on the catalogue filtered to what the bar shows). The SVG
scales to its container (viewBox, width 100%), names itself (role="img", <title>, <desc>) and
carries the figures in each bar's <title> (a tooltip, and what a screen reader says); the
returned HTML adds a plain table of the same figures in a <details> as the text alternative.
Horizontal bars (`horizontal=True`) suit long names (classes, regions); vertical bars suit
ordered bins (histograms, months).
"""

from dataclasses import dataclass

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

ROW_H = 18  # horizontal bars: one row per bar
LABEL_W = 150  # horizontal bars: room for the names
WIDTH = 480
HEIGHT = 160  # vertical bars: the plot area
AXIS_H = 18  # vertical bars: room for the first and last label under the axis


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    href: str | None = None


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _bar(bar: Bar, x: float, y: float, w: float, h: float, unit: str) -> str:
    tip = f"{bar.label}: {_number(bar.value)}{(' ' + unit) if unit else ''}"
    rect = (
        f'<rect class="chart-bar" x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.0):.1f}" '
        f'height="{max(h, 0.0):.1f}"><title>{escape(tip)}</title></rect>'
    )
    if bar.href:
        return f'<a href="{escape(bar.href)}" aria-label="{escape(tip)}">{rect}</a>'
    return rect


def _svg(bars: list[Bar], title: str, unit: str, horizontal: bool) -> str:
    top = max((b.value for b in bars), default=0) or 1
    parts: list[str] = []
    if horizontal:
        height = ROW_H * len(bars) or ROW_H
        plot_w = WIDTH - LABEL_W - 60
        for i, bar in enumerate(bars):
            y = i * ROW_H
            w = plot_w * bar.value / top
            label = bar.label if len(bar.label) <= 24 else bar.label[:23] + "…"
            parts.append(
                f'<text class="chart-label" x="{LABEL_W - 6}" y="{y + ROW_H * 0.7:.1f}" '
                f'text-anchor="end">{escape(label)}</text>'
            )
            parts.append(_bar(bar, LABEL_W, y + 2, w, ROW_H - 4, unit))
            parts.append(
                f'<text class="chart-value" x="{LABEL_W + w + 4:.1f}" '
                f'y="{y + ROW_H * 0.7:.1f}">{_number(bar.value)}</text>'
            )
    else:
        height = HEIGHT + AXIS_H
        step = WIDTH / max(len(bars), 1)
        for i, bar in enumerate(bars):
            h = HEIGHT * bar.value / top
            parts.append(_bar(bar, i * step + step * 0.08, HEIGHT - h, step * 0.84, h, unit))
        parts.append(f'<line class="chart-axis" x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}"/>')
        if bars:
            parts.append(
                f'<text class="chart-label" x="0" y="{HEIGHT + 14}">{escape(bars[0].label)}</text>'
            )
            parts.append(
                f'<text class="chart-label" x="{WIDTH}" y="{HEIGHT + 14}" text-anchor="end">'
                f"{escape(bars[-1].label)}</text>"
            )
    desc = f"{len(bars)} bars; the largest is {_number(top)}{(' ' + unit) if unit else ''}."
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{''.join(parts)}</svg>"
    )


def bar_chart(
    bars: list[Bar],
    *,
    title: str,
    unit: str = "",
    horizontal: bool = False,
    value_header: str = "Count",
) -> SafeString:
    """The chart and its text alternative, ready for a template ({{ chart }})."""
    if not bars:
        return format_html('<p class="chart-empty">{}: nothing in this selection.</p>', title)
    rows = format_html_join(
        "",
        "<tr><th scope=row>{}</th><td>{}</td></tr>",
        (
            (
                format_html('<a href="{}">{}</a>', b.href, b.label) if b.href else b.label,
                _number(b.value),
            )
            for b in bars
        ),
    )
    table = format_html(
        '<details class="chart-table"><summary>{} as a table</summary><table>'
        "<thead><tr><th scope=col>{}</th><th scope=col>{}</th></tr></thead>"
        "<tbody>{}</tbody></table></details>",
        title,
        "Value",
        value_header + (f" ({unit})" if unit else ""),
        rows,
    )
    svg = mark_safe(_svg(bars, title, unit, horizontal))  # noqa: S308 (its texts are escaped)
    return format_html('<figure class="chart-figure">{}{}</figure>', svg, table)
