"""The detail page (built with the ingest work) holds every stored field, with its unit."""

import re
from datetime import UTC, datetime

from django.contrib.auth.models import User
from django.test import Client

from noisebank.catalog import models as m
from noisebank.testing import make_recording, taxon


def text_of(html: str) -> str:
    """The page's visible text, tags removed and white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_detail_page_shows_all_metadata_features_and_levels_with_units(
    charlie_client: Client, alice: User
) -> None:
    alice.first_name, alice.last_name = "Alice", "Appiah"
    alice.save()
    mic = taxon(m.MicrophoneType, "Omni condenser")
    rec = make_recording(
        collector=alice,
        name="Freight at Tema junction",
        description="Two locomotives, wet rail.",
        category="Train pass-by", sound_class="Freight train", subclass="Container",
        region="Greater Accra", community="Tema",
        recorded_at=datetime(2026, 3, 4, 5, 6, tzinfo=UTC),
        dataset_type=taxon(m.DatasetType, "noise"),
        time_of_day=taxon(m.TimeOfDay, "Morning"),
        device=taxon(m.Device, "Zoom H5", microphone_type=mic),
        microphone_type=mic,
        latitude=5.6698, longitude=-0.0166,
        calibration_offset_db=94.5,
        original_filename="tema_0304.wav", size_bytes=2_500_000, sha256="ab" * 32,
    )  # fmt: skip
    response = charlie_client.get(f"/recordings/{rec.noise_id}/")
    assert response.status_code == 200
    text = text_of(response.content.decode())
    expected = [
        # metadata
        rec.noise_id, "Freight at Tema junction", "Two locomotives, wet rail.",
        "Train pass-by \u203a Freight train \u203a Container", "Greater Accra \u203a Tema",
        "5.66980°, -0.01660°", "2026-03-04 05:06 UTC · Morning", "Zoom H5 · Omni condenser",
        "94.5 dB (recording)", "Dataset type noise", "Collector Alice Appiah",
        "no audio stored (was tema_0304.wav)", "ab" * 32, "Ready",
        # levels, each with its unit
        "LAeq 80.0 dB SPL(A)", "LAFmax 91.0 dB SPL(A)", "LAFmin 62.0 dB SPL(A)",
        "LA10 84.0 dB SPL(A)", "LA50 78.0 dB SPL(A)", "LA90 66.0 dB SPL(A)",
        "LZeq 88.0 dB SPL(Z)", "Mean / std 77.5 / 6.1 dB SPL", "Max / min 91.0 / 62.0 dB SPL",
        "Peaks 7, every 1.50 s on average", "4.2 s", "Dominant frequency 250.0 Hz",
        "50 \u2013 4000 Hz",
        # features
        "Duration 12.50 s", "48,000 Hz · 1", "Samples 600,000", "RMS 0.05000 full scale = 1",
        "Zero-crossing rate 0.0400", "900 / 1200 Hz", "3000 Hz · 0.1200", "0.60 / 0.40",
        "0.0, 1.0, 2.0", "0.00, 0.08, 0.17",
    ]  # fmt: skip
    missing = [e for e in expected if e not in text]
    assert missing == []
    assert 'aria-label="1/3-octave band levels' in response.content.decode()
