"""The signal checks through the worker, the detail page, the filter, the stats and the export."""

import csv
import importlib
import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from noisebank.catalog.filters import parse_filters
from noisebank.catalog.models import NoiseAnalysis, Recording
from noisebank.ingest.services import recording_create
from noisebank.lib import synth
from noisebank.testing import make_recording

FS = 48_000


def run_worker() -> None:
    call_command(
        "db_worker", batch=True, startup_delay=False, interval=0, reload=False, verbosity=0
    )


def upload(path: Path, samples: np.ndarray, collector: User) -> Recording:
    sf.write(path, samples, FS, subtype="PCM_16")
    created = recording_create(file=path, filename=path.name, metadata={}, collector=collector)
    return created.recording


@pytest.mark.django_db(transaction=True)
def test_a_silent_file_is_ready_with_no_signal_and_no_levels(
    charlie: User, charlie_client: Client, tmp_path: Path
) -> None:
    rec = upload(tmp_path / "silence.wav", np.zeros(2 * FS), charlie)

    run_worker()

    rec.refresh_from_db()
    assert rec.status == "ready"
    analysis = rec.analysis
    assert analysis.no_signal and analysis.laeq is None and analysis.la90 is None
    assert analysis.band_levels == {} and analysis.clipped_share == 0.0
    assert rec.features.duration_s == 2.0 and rec.features.spectral_centroid is None
    page = charlie_client.get(f"/recordings/{rec.noise_id}/").content.decode()
    assert "No signal." in page and 'class="kpi main"' not in page


@pytest.mark.django_db(transaction=True)
def test_a_dead_channel_is_shown_and_the_levels_come_from_the_live_one(
    charlie: User, charlie_client: Client, tmp_path: Path
) -> None:
    tone = synth.sine(1000, 2.0, rms=0.1)
    hum = 1e-4 * synth.sine(50, 2.0, rms=1.0)
    rec = upload(tmp_path / "stereo.wav", np.column_stack([tone, hum]), charlie)

    run_worker()

    rec.refresh_from_db()
    analysis = rec.analysis
    assert analysis.dead_channels == [2] and analysis.level_channels == [1]
    assert analysis.laeq == pytest.approx(-20.0, abs=0.05)
    assert analysis.channel_laeq[0] == pytest.approx(-20.0, abs=0.05)
    page = charlie_client.get(f"/recordings/{rec.noise_id}/").content.decode()
    assert 'id="signal-checks"' in page
    assert "channel 1 only: channel 2 more than 6 dB below the loudest" in page
    assert '<strong class="flag">dead</strong>' in page


@pytest.fixture
def flagged(alice: User) -> dict[str, Recording]:
    return {
        "clipped": make_recording(analysis={"clipped_share": 0.02, "dc_offset": 0.01}),
        "clean": make_recording(analysis={"clipped_share": 0.0, "dc_offset": 0.0}),
        "silent": make_recording(
            analysis={"no_signal": True, "laeq": None, "clipped_share": 0.0, "dc_offset": 0.0}
        ),
        "old": make_recording(),  # measured before the checks: unknown
        "stereo": make_recording(
            analysis={"clipped_share": 0.0005, "dead_channels": [2], "channel_laeq": [80, 40]}
        ),
    }


def test_the_clipped_filter_selects_recordings_over_a_tenth_of_a_percent(
    flagged: dict[str, Recording], alice_client: Client
) -> None:
    def matching(value: str) -> set[str]:
        selection = Recording.objects.matching(parse_filters({"clipped": value}))
        return set(selection.values_list("noise_id", flat=True))

    ids = {name: rec.noise_id for name, rec in flagged.items()}
    assert matching("yes") == {ids["clipped"]}
    assert matching("no") == {ids["clean"], ids["silent"], ids["stereo"]}
    page = alice_client.get("/recordings/?clipped=yes").content.decode()
    assert ids["clipped"] in page and ids["clean"] not in page
    assert alice_client.get("/recordings/?clipped=maybe").status_code == 400


def test_the_processing_page_counts_the_flags(
    flagged: dict[str, Recording], admin_client: Client
) -> None:
    page = admin_client.get("/recordings/processing/").content.decode()
    section = page[page.index('id="signal-flags"') :]
    counts = [
        int(part.split("</span>")[0].split(">")[-1])
        for part in section.split('class="stat-n"')[1:5]
    ]
    assert counts == [1, 1, 1, 1]  # clipped, no signal, a dead channel, DC offset


@pytest.mark.django_db(transaction=True)  # the export reads in its own snapshot
def test_the_checks_are_export_columns(flagged: dict[str, Recording], alice_client: Client) -> None:
    columns = "noise_id,no_signal,clipped_share,dc_offset,channel_laeq,dead_channels,laeq"
    response = alice_client.get(f"/api/v1/recordings/export.csv?columns={columns}&clipped=no")
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = {r["noise_id"]: r for r in csv.DictReader(io.StringIO(text))}

    stereo = rows[flagged["stereo"].noise_id]
    assert stereo["dead_channels"] == "[2]" and stereo["channel_laeq"] == "[80, 40]"
    silent = rows[flagged["silent"].noise_id]
    assert silent["no_signal"] == "true" and silent["laeq"] == ""
    assert float(rows[flagged["clean"].noise_id]["clipped_share"]) == 0.0


def test_the_migration_marks_silence_measured_before_the_checks(db: None) -> None:
    silent = make_recording(features={"rms_energy": 0.0}, analysis={"laeq": -156.5})
    loud = make_recording()
    migration = importlib.import_module("noisebank.catalog.migrations.0005_signal_checks")

    migration.mark_old_silence(apps, None)

    silent_analysis = NoiseAnalysis.objects.get(pk=silent.pk)
    assert silent_analysis.no_signal and silent_analysis.laeq is None
    assert silent_analysis.band_levels == {}
    loud_analysis = NoiseAnalysis.objects.get(pk=loud.pk)
    assert not loud_analysis.no_signal and loud_analysis.laeq == 80.0
