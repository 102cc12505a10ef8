from xml.etree import ElementTree

from noisebank.lib.charts import Bar, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def _svg(html: str) -> ElementTree.Element:
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ElementTree.fromstring(html[start:end])  # noqa: S314 (our own output)


def test_bars_are_links_with_their_figures_and_hostile_names_stay_text():
    html = bar_chart(
        [Bar("<script>x</script>", 3, href="/recordings/?class=a&b=1"), Bar("Horn", 1.5)],
        title="Top classes",
        horizontal=True,
    )
    assert "<script>" not in html
    svg = _svg(html)  # well-formed XML: every name escaped
    assert svg.find(f"{SVG}title").text == "Top classes"
    links = svg.findall(f"{SVG}a")
    assert [a.get("href") for a in links] == ["/recordings/?class=a&b=1"]
    tips = [t.text for t in svg.iter(f"{SVG}title")][1:]
    assert tips == ["<script>x</script>: 3", "Horn: 1.50"]
    # The text alternative: the same figures in a table, the linked bar linked.
    assert '<a href="/recordings/?class=a&amp;b=1">&lt;script&gt;x&lt;/script&gt;</a>' in html
    assert "<td>1.50</td>" in html


def test_vertical_bars_scale_to_the_largest_and_name_the_ends():
    svg = _svg(bar_chart([Bar("40", 2), Bar("41", 4), Bar("42", 0)], title="LAeq", unit="dB"))
    heights = [float(r.get("height")) for r in svg.iter(f"{SVG}rect")]
    assert heights[1] == max(heights) and heights[0] == heights[1] / 2 and heights[2] == 0
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert labels == ["40", "42"]


def test_an_empty_selection_says_so():
    assert "nothing in this selection" in bar_chart([], title="Top classes")
