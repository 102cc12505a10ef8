"""The calibration page and how a recording's page names the calibration its levels are in."""

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.contrib.auth.models import User
from django.test import Client

from noisebank.catalog.models import Calibration, Device
from noisebank.ingest.tests.test_calibrations import calibrator_wav
from noisebank.testing import make_recording

pytestmark = pytest.mark.django_db


def post(client: Client, path: Path, **fields: str) -> object:
    with path.open("rb") as f:
        return client.post("/calibrations/", {"file": f, **fields})


def test_a_collector_calibrates_a_device_and_is_told_the_offset_and_how_many_it_covers(
    charlie: User, charlie_client: Client, tmp_path: Path
) -> None:
    device = Device.objects.create(name="Kit 7")
    make_recording(device=device, recorded_at=datetime(2026, 5, 5, tzinfo=UTC))
    make_recording(device=device, recorded_at=datetime(2026, 5, 3, tzinfo=UTC))
    response = post(
        charlie_client, calibrator_wav(tmp_path / "cal.wav", -20.0),
        device=str(device.pk), nominal="114", valid_from="2026-05-04T09:00",
    )  # fmt: skip
    assert response.status_code == 302  # type: ignore[attr-defined]
    cal = Calibration.objects.get()
    assert (cal.device, cal.created_by, cal.nominal_db) == (device, charlie, 114.0)
    assert cal.valid_from == datetime(2026, 5, 4, 9, tzinfo=UTC)
    page = charlie_client.get("/calibrations/").content.decode()
    assert "offset is +134.00 dB from 2026-05-04 09:00 UTC. It covers 1 recording(s)" in page
    assert f'id="calibration-{cal.pk}"' in page and "cal.wav" in page


def test_a_noise_file_is_refused_on_the_page_with_the_figures(
    charlie_client: Client, tmp_path: Path
) -> None:
    device = Device.objects.create(name="Kit 7")
    noise = tmp_path / "speech.wav"
    sf.write(str(noise), 0.1 * np.random.default_rng(0).standard_normal(5 * 48_000), 48_000)
    response = post(charlie_client, noise, device=str(device.pk), nominal="94")
    assert response.status_code == 422  # type: ignore[attr-defined]
    page = response.content.decode()  # type: ignore[attr-defined]
    assert "Not calibrated." in page and "its frequency is" in page
    assert not Calibration.objects.exists()


def test_a_typed_level_out_of_range_is_refused_naming_the_field(
    charlie_client: Client, tmp_path: Path
) -> None:
    device = Device.objects.create(name="Kit 7")
    response = post(
        charlie_client, calibrator_wav(tmp_path / "c.wav", -20.0), device=str(device.pk),
        nominal="940",
    )  # fmt: skip
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "940 dB is not a calibrator level" in response.content.decode()  # type: ignore[attr-defined]


def test_the_detail_page_names_the_calibration_its_levels_are_in(
    charlie_client: Client, tmp_path: Path
) -> None:
    device = Device.objects.create(name="Kit 7", calibration_offset_db=100.0)
    cal = Calibration.objects.create(
        device=device, nominal_db=94.0, measured_dbfs=-26.0, offset_db=120.0, frequency_hz=1000.0,
        steadiness_db=0.01, steady_s=5.0, valid_from=datetime(2026, 5, 4, 9, tzinfo=UTC),
        file="calibrations/x.wav",
    )  # fmt: skip
    after = make_recording(device=device, recorded_at=datetime(2026, 5, 5, tzinfo=UTC))
    before = make_recording(device=device, recorded_at=datetime(2026, 5, 3, tzinfo=UTC))
    page = charlie_client.get(f"/recordings/{after.noise_id}/").content.decode()
    assert (
        f'120.0 <span class="unit">dB</span> (calibration #{cal.pk} of Kit 7, '
        "2026-05-04 09:00 UTC, 94.0 dB SPL calibrator)" in page
    )
    page = charlie_client.get(f"/recordings/{before.noise_id}/").content.decode()
    assert '100.0 <span class="unit">dB</span> (device)' in page
