"""The export names the calibration a recording's levels are in: which, its date, its offset."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.test import Client

from noisebank.catalog.models import Calibration, Device
from noisebank.testing import make_recording

pytestmark = pytest.mark.usefixtures(
    "transactional_db"
)  # the export reads in a snapshot of its own

COLUMNS = "noise_id,recording_device,calibration_offset_db,calibration_id,calibration_date"


def test_each_recording_exports_the_calibration_its_levels_are_in(alice_client: Client) -> None:
    device = Device.objects.create(name="Kit 9", calibration_offset_db=100.0)
    made = {
        at: Calibration.objects.create(
            device=device, nominal_db=94.0, measured_dbfs=94.0 - offset, offset_db=offset,
            frequency_hz=1000.0, steadiness_db=0.02, steady_s=5.0, valid_from=at,
            file="calibrations/k.wav",
        )
        for at, offset in (
            (datetime(2026, 5, 1, 8, tzinfo=UTC), 121.25),
            (datetime(2026, 6, 1, 8, tzinfo=UTC), 119.5),
        )
    }  # fmt: skip
    first, second = made.values()
    rows = {
        "before": make_recording(device=device, recorded_at=datetime(2026, 4, 30, tzinfo=UTC)),
        "first": make_recording(device=device, recorded_at=datetime(2026, 5, 1, 8, tzinfo=UTC)),
        "second": make_recording(device=device, recorded_at=datetime(2026, 7, 1, tzinfo=UTC)),
        "own": make_recording(
            device=device, recorded_at=datetime(2026, 7, 2, tzinfo=UTC), calibration_offset_db=3.5
        ),
        "none": make_recording(recorded_at=datetime(2026, 7, 3, tzinfo=UTC)),
    }
    response = alice_client.get(f"/api/v1/recordings/export.csv?columns={COLUMNS}")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    got = {r["noise_id"]: r for r in csv.DictReader(io.StringIO(text))}

    def row(name: str) -> tuple[float | None, str, str]:
        r = got[rows[name].noise_id]
        offset = float(r["calibration_offset_db"]) if r["calibration_offset_db"] else None
        return offset, r["calibration_id"], r["calibration_date"]

    assert row("before") == (100.0, "", "")
    assert row("first") == (121.25, str(first.pk), "2026-05-01T08:00:00Z")
    assert row("second") == (119.5, str(second.pk), "2026-06-01T08:00:00Z")
    assert row("own") == (3.5, "", "")
    assert row("none") == (None, "", "")
