"""The export panel on the catalogue says what an export of the selection holds before anyone
clicks Export: its rows, its audio files and their size, the same figures as catalog.stats."""

import re

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import QueryDict
from django.template.defaultfilters import filesizeformat
from django.test import Client

from noisebank.catalog.filters import parse_filters
from noisebank.catalog.stats import selection_stats
from noisebank.testing import make_awkward_recordings, make_recording


@pytest.fixture(autouse=True)
def fresh_count_cache() -> None:
    # SQLite hands out the same ids again after a test's rollback: start each test cold.
    cache.clear()


@pytest.fixture
def catalogue(alice: User) -> None:
    make_awkward_recordings(collector=alice)  # sizes above 2**40 bytes: terabytes add up
    for i in range(6):
        make_recording(
            collector=alice,
            region="Ashanti" if i % 2 else "Western",
            audio=f"audio/p{i}.wav" if i % 3 == 0 else "",
            size_bytes=1_500_000_000 * (i + 1) if i % 3 == 0 else None,
        )


def shown(html: str) -> tuple[dict[str, int], str, str]:
    """The panel's figures (its data attributes), its sentence and the ZIP option's label."""
    found = re.search(
        r'<p class="small export-selection" id="export-selection" data-rows="(\d+)" '
        r'data-audio-files="(\d+)" data-audio-bytes="(\d+)">([^<]*)</p>',
        html,
    )
    assert found, "no figures in the export panel"
    zip_option = re.search(r'<option value="zip">([^<]*)</option>', html)
    assert zip_option
    figures = dict(
        zip(("rows", "audio_files", "audio_bytes"), map(int, found.groups()[:3]), strict=True)
    )
    return figures, found.group(4), zip_option.group(1)


@pytest.mark.parametrize(
    "query",
    ["", "region=Western", "region=Ashanti", "has_audio=yes", "category=Ambience", "q=nothing"],
)
def test_the_panel_says_rows_and_audio_files_of_the_selection(
    alice_client: Client, catalogue: None, query: str
) -> None:
    response = alice_client.get(f"/recordings/?{query}")
    assert response.status_code == 200
    figures, sentence, zip_label = shown(response.content.decode())
    stats = selection_stats(parse_filters(QueryDict(query)))
    assert figures == {
        "rows": stats["count"],
        "audio_files": stats["audio_files"],
        "audio_bytes": stats["audio_bytes"],
    }
    files, size = stats["audio_files"], filesizeformat(stats["audio_bytes"])
    rows = f"{stats['count']:,} row{'s' if stats['count'] != 1 else ''}"
    if files:
        assert sentence == f"{rows}, {files:,} audio file{'s' if files != 1 else ''} ({size})"
        assert zip_label == f"ZIP with audio ({files:,} file{'s' if files != 1 else ''}, {size})"
    else:
        assert sentence == f"{rows}, 0 audio files"
        assert zip_label == "ZIP with audio (0 files)"


def test_the_figures_count_what_an_export_would_hold(alice_client: Client, catalogue: None) -> None:
    figures, sentence, _ = shown(alice_client.get("/recordings/?region=Western").content.decode())
    # Western: the recordings 0, 2 and 4; audio on 0 only (1.5 GB, shown in binary units).
    assert figures == {"rows": 3, "audio_files": 1, "audio_bytes": 1_500_000_000}
    assert sentence == "3 rows, 1 audio file (1.4\xa0GB)"


def test_the_panel_without_a_selection_shows_no_figures(alice: User) -> None:
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/recordings/")
    request.user = alice
    html = render_to_string("exports/_export_panel.html", request=request)
    assert 'id="export-selection"' not in html
    assert '<option value="zip">ZIP with audio</option>' in html
