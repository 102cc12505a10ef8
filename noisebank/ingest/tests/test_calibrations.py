"""Calibrating a device from a calibrator recording: kept with its file, applied to the device's
recordings from its time on, which the real worker measures again."""

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from noisebank.catalog.models import (
    Calibration,
    CalibrationInForce,
    Device,
    NoiseAnalysis,
    Recording,
)
from noisebank.ingest.calibrations import Calibrated, CalibrationRefused, calibration_create
from noisebank.ingest.services import recording_create
from noisebank.ingest.tests.test_processing import run_worker
from noisebank.lib import synth
from noisebank.testing import make_recording, write_audio

pytestmark = pytest.mark.django_db(transaction=True)

CALIBRATED_AT = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def calibrator_wav(path: Path, level_dbfs: float, seconds: float = 6.0) -> Path:
    x = synth.sine(1000.0, seconds, rms=synth.rms_for_dbfs(level_dbfs), phase_rad=0.2)
    sf.write(str(path), x, synth.SAMPLE_RATE, subtype="PCM_24")
    return path


def calibrate(device: Device, path: Path, nominal: float = 94.0, **kwargs: Any) -> Calibrated:
    kwargs.setdefault("valid_from", CALIBRATED_AT)
    kwargs.setdefault("user", None)
    return calibration_create(
        device=device, file=path, filename=path.name, nominal_db=nominal, **kwargs
    )


def test_a_recording_made_after_the_calibration_reads_94_db_spl_for_the_same_tone(
    charlie: User, tmp_path: Path, client: Client
) -> None:
    device = Device.objects.create(name="Field kit 3")
    done = calibrate(device, calibrator_wav(tmp_path / "cal.wav", -31.5), 94.0, user=charlie)
    cal = done.calibration
    assert cal.offset_db == pytest.approx(125.5, abs=0.05)
    assert cal.nominal_db == 94.0 and cal.created_by == charlie
    assert cal.frequency_hz == pytest.approx(1000.0, abs=1.0) and cal.steady_s == pytest.approx(6.0)
    stored = Path(cal.file.path)
    assert stored.is_file() and stored.read_bytes() == (tmp_path / "cal.wav").read_bytes()
    assert cal.original_filename == "cal.wav"
    same_tone = write_audio(tmp_path / "tone.wav", seconds=3, level_dbfs=-31.5)
    rec = recording_create(
        file=same_tone,
        filename="tone.wav",
        metadata={"device": "Field kit 3", "recorded_at": "2026-05-04T10:00:00Z"},
        collector=charlie,
    ).recording
    assert rec.calibration_in_force().calibration == cal
    run_worker()
    rec.refresh_from_db()
    assert rec.analysis.unit == "dB SPL"
    assert rec.analysis.laeq == pytest.approx(94.0, abs=0.05)
    assert rec.analysis.lzeq == pytest.approx(94.0, abs=0.05)
    # The API's detail names the calibration the levels are in.
    client.force_login(charlie)
    detail = client.get(f"/api/v1/recordings/{rec.noise_id}").json()
    assert detail["levels"]["unit"] == "dB SPL"
    assert detail["calibration_offset_db"] is None  # no offset of its own
    assert detail["calibration"] == {
        "offset_db": cal.offset_db,
        "source": "calibration",
        "calibrated_at": "2026-05-04T09:00:00Z",
        "calibrator_db": 94.0,
    }


def test_a_new_calibration_remeasures_the_recordings_it_covers_and_says_how_many(
    charlie: User, tmp_path: Path
) -> None:
    device = Device.objects.create(name="Kit", calibration_offset_db=100.0)
    other = Device.objects.create(name="Other kit")
    audio = Path(settings.MEDIA_ROOT) / "audio" / "tone.wav"
    audio.parent.mkdir(parents=True)
    write_audio(audio, seconds=2, level_dbfs=-26.0)
    later = CALIBRATED_AT + timedelta(days=2)

    def rec(**fields: object) -> Recording:
        return make_recording(collector=charlie, audio="audio/tone.wav", **fields)

    covered = [rec(device=device, recorded_at=later), rec(device=device, recorded_at=CALIBRATED_AT)]
    before = rec(device=device, recorded_at=CALIBRATED_AT - timedelta(seconds=1))
    own = rec(device=device, recorded_at=later, calibration_offset_db=110.0)
    elsewhere = rec(device=other, recorded_at=later)
    unknown_time = rec(device=device)
    Recording.objects.filter(pk=unknown_time.pk).update(recorded_at=None)
    without_audio = make_recording(
        device=device, recorded_at=later, analysis={"unit": "dB SPL", "laeq": 80.0}
    )

    done = calibrate(device, calibrator_wav(tmp_path / "cal.wav", -26.0), 94.0)
    assert (done.covered, done.remeasured) == (3, 2)
    run_worker()
    for r in covered:
        r.refresh_from_db()
        assert r.status == "ready" and r.analysis.laeq == pytest.approx(94.0, abs=0.05)
    # Typed offset 100 before: its levels were 80 dB SPL = -20 dBFS, now -20 + 120 = 100.
    assert NoiseAnalysis.objects.get(pk=without_audio.pk).laeq == pytest.approx(100.0)
    for r in (before, own, elsewhere, unknown_time):
        r.refresh_from_db()
        assert r.status == "ready" and r.analysis.laeq == 80.0  # untouched: make_recording's
    done.calibration.refresh_from_db()
    assert done.calibration.applied_at is not None


def test_a_later_calibration_takes_over_from_its_time(tmp_path: Path) -> None:
    device = Device.objects.create(name="Kit", calibration_offset_db=100.0)
    first = calibrate(device, calibrator_wav(tmp_path / "a.wav", -26.0), 94.0).calibration
    second = calibrate(
        device, calibrator_wav(tmp_path / "b.wav", -30.0), 94.0,
        valid_from=CALIBRATED_AT + timedelta(days=30),
    ).calibration  # fmt: skip

    def in_force(at: datetime | None) -> CalibrationInForce:
        r = Recording(device=device, recorded_at=at)
        return r.calibration_in_force()

    assert in_force(CALIBRATED_AT - timedelta(days=1)).offset_db == 100.0  # the typed one
    assert in_force(CALIBRATED_AT).calibration == first
    assert in_force(CALIBRATED_AT + timedelta(days=30)).calibration == second
    assert in_force(None).source == "device"  # when unknown, no calibration is assumed
    assert (
        Recording(device=device, recorded_at=CALIBRATED_AT, calibration_offset_db=3.0)
        .calibration_in_force()
        .source
        == "recording"
    )


def test_a_file_that_is_not_a_calibrator_tone_is_refused_and_nothing_is_kept(
    tmp_path: Path,
) -> None:
    device = Device.objects.create(name="Kit")
    noise = tmp_path / "speech.wav"
    sf.write(str(noise), 0.1 * np.random.default_rng(0).standard_normal(5 * 48_000), 48_000)
    with pytest.raises(CalibrationRefused, match="not a steady 1,000 Hz calibrator tone: "):
        calibrate(device, noise)
    text = tmp_path / "notes.wav"
    text.write_text("94 dB, trust me")
    with pytest.raises(CalibrationRefused, match="text, not audio"):
        calibrate(device, text)
    assert not Calibration.objects.exists()
    assert not (Path(settings.MEDIA_ROOT) / "calibrations").exists() or not any(
        p.is_file() for p in (Path(settings.MEDIA_ROOT) / "calibrations").rglob("*")
    )


def test_the_calibrate_command_says_what_it_measured_and_what_it_covers(tmp_path: Path) -> None:
    device = Device.objects.create(name="Zoom F3")
    make_recording(
        device=device, recorded_at=datetime(2026, 6, 1, tzinfo=UTC), with_measurements=False
    )
    out = StringIO()
    call_command(
        "calibrate", "zoom f3", str(calibrator_wav(tmp_path / "c.wav", -12.0)),
        "--nominal", "114", "--at", "2026-05-30T08:00", stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "114 dB SPL read -12.00 dBFS" in text and "offset +126.00 dB" in text
    assert "from 2026-05-30 08:00 UTC" in text and "It covers 1 recording(s)" in text
    with pytest.raises(CommandError, match="Unknown device “Nope”"):
        call_command("calibrate", "Nope", str(tmp_path / "c.wav"), "--nominal", "94")
    with pytest.raises(CommandError, match="not a calibrator level"):
        call_command("calibrate", "Zoom F3", str(tmp_path / "c.wav"), "--nominal", "9")
    with pytest.raises(CommandError, match="frequency is"):
        sf.write(str(tmp_path / "hum.wav"), synth.sine(50.0, 5, rms=0.1), 48_000)
        call_command("calibrate", "Zoom F3", str(tmp_path / "hum.wav"), "--nominal", "94")
