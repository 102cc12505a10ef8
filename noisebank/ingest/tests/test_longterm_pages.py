"""Long-term indicators through the worker, the detail page and the export."""

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client

from noisebank.catalog.models import Recording, Region
from noisebank.ingest.services import recording_create
from noisebank.testing import write_audio

pytestmark = pytest.mark.django_db(transaction=True)


def measured(path: Path, collector: User, **metadata: str) -> Recording:
    rec = recording_create(
        file=path, filename=path.name, metadata=metadata, collector=collector
    ).recording
    call_command(
        "db_worker", batch=True, startup_delay=False, interval=0, reload=False, verbosity=0
    )
    # A reviewer's acceptance: researchers see (and export) accepted recordings only.
    Recording.objects.filter(pk=rec.pk).update(review_state=Recording.Review.ACCEPTED)
    rec.refresh_from_db()
    return rec


def test_hours_and_periods_are_in_the_regions_local_time(
    charlie: User, alice_client: Client, tmp_path: Path
) -> None:
    Region.objects.create(name="Nairobi", time_zone="Africa/Nairobi")  # UTC+3 all year
    # 19:59:59 UTC is 22:59:59 in Nairobi: one second of evening, one of night.
    rec = measured(write_audio(tmp_path / "a.wav", seconds=2.0, level_dbfs=-20), charlie,
                   region="Nairobi", recorded_at="2026-06-01T19:59:59Z")  # fmt: skip

    a = rec.analysis
    assert a.time_zone == "Africa/Nairobi"
    assert [h["start"] for h in a.hourly_laeq] == [
        "2026-06-01T22:00+03:00",
        "2026-06-01T23:00+03:00",
    ]
    assert [h["covered_s"] for h in a.hourly_laeq] == [1.0, 1.0]
    assert a.levening == pytest.approx(-20.0, abs=0.1) and a.lnight == pytest.approx(-20.0, abs=0.1)
    assert a.lday is None and a.lden is None
    assert (a.lday_hours, a.levening_hours) == (0.0, pytest.approx(1 / 3600))
    page = alice_client.get(f"/recordings/{rec.noise_id}/").content.decode()
    assert "local time of the site: Africa/Nairobi" in page
    assert "needs a whole day covered" in page and "LAeq per local clock hour" in page

    response = alice_client.get(
        "/api/v1/recordings/export.csv?columns=noise_id,time_zone,lday,levening,lden,hourly_laeq"
    )
    row = next(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[attr-defined]
    assert row["time_zone"] == "Africa/Nairobi" and row["lday"] == "" and row["lden"] == ""
    assert float(row["levening"]) == pytest.approx(-20.0, abs=0.1)
    assert json.loads(row["hourly_laeq"])[1]["start"] == "2026-06-01T23:00+03:00"


def test_a_region_without_a_zone_uses_the_default_setting(
    charlie: User, tmp_path: Path, settings: Any
) -> None:
    settings.NOISEBANK_TIME_ZONE = "Europe/Berlin"
    rec = measured(write_audio(tmp_path / "b.wav", seconds=1.0), charlie,
                   recorded_at="2026-01-10T06:00:00Z")  # fmt: skip

    assert rec.analysis.time_zone == "Europe/Berlin"
    assert rec.analysis.hourly_laeq[0]["start"] == "2026-01-10T07:00+01:00"
    assert rec.analysis.lday is not None and rec.analysis.lnight is None


def test_a_region_refuses_a_time_zone_that_does_not_exist(db: None) -> None:
    region = Region(name="Atlantis", time_zone="Atlantis/Capital")
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        region.full_clean()
