"""The recording's copies of its measurements (Recording.MEASURED_COPIES, which the catalogue
filters and sorts on) equal NoiseAnalysis and AudioFeatures after every path that writes them."""

import importlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection, transaction

from noisebank.catalog import demo
from noisebank.catalog import models as m
from noisebank.curation.calibration import levels_recalibrate
from noisebank.ingest.services import (
    recording_create,
    recording_process,
    recording_update,
    recordings_reprocess,
)
from noisebank.testing import make_many_recordings, make_recording, write_audio

# The seeder writes through its own connection on PostgreSQL, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

backfill = importlib.import_module("noisebank.catalog.migrations.0010_measured_copies")


def copies_and_sources() -> tuple[dict[int, tuple[Any, ...]], dict[int, tuple[Any, ...]]]:
    """Every recording's copies, and what they should be read from the measurement tables."""
    copies = {
        pk: tuple(rest) for pk, *rest in m.Recording.objects.values_list("pk", *m.MEASURED_COPIES)
    }
    measured: dict[int, dict[str, Any]] = {pk: {} for pk in copies}
    for field, (model, source) in m.MEASURED_COPIES.items():
        for pk, value in model._default_manager.values_list("recording_id", source):
            measured[pk][field] = value
    expected = {pk: tuple(got.get(f) for f in m.MEASURED_COPIES) for pk, got in measured.items()}
    return copies, expected


def assert_copies_equal() -> int:
    """The copies equal the sources over the whole table; returns how many rows hold a level."""
    copies, expected = copies_and_sources()
    wrong = {pk: (copies[pk], expected[pk]) for pk in copies if copies[pk] != expected[pk]}
    assert wrong == {}, "recording: (copied, measured)"
    return sum(1 for values in copies.values() if values[0] is not None)


def upload(path: Path, collector: User, **metadata: str) -> m.Recording:
    return recording_create(
        file=path, filename=path.name, metadata=metadata, collector=collector
    ).recording


def test_every_writer_of_levels_keeps_the_recordings_copies_equal(
    alice: User, tmp_path: Path
) -> None:
    # The seeder writes the copies in its own bulk insert; the test builders copy.
    demo.ensure_demo_users("pw")
    demo.seed_recordings(40, chunk=16)
    make_recording(collector=alice, analysis={"laeq": 71.5, "clipped_share": 0.25})
    make_recording(collector=alice, with_measurements=False)
    make_many_recordings(5)
    assert assert_copies_equal() > 40

    # Measured by the worker's service, then measured again in a new calibration.
    measured = upload(write_audio(tmp_path / "a.wav", level_dbfs=-26), alice)
    stale = m.Recording.objects.get(pk=measured.pk)  # read before it was measured
    assert recording_process(measured.pk) == "ready"
    assert m.Recording.objects.get(pk=measured.pk).laeq is not None
    assert_copies_equal()
    # A save of the instance read before the measurement leaves the copies alone.
    recording_update(recording=stale, metadata={"name": "Renamed", "calibration_offset_db": "120"})
    assert_copies_equal()
    before = m.NoiseAnalysis.objects.get(pk=measured.pk).laeq
    assert recordings_reprocess([stale]).queued == 1
    assert recording_process(measured.pk) == "ready"
    after = m.Recording.objects.get(pk=measured.pk)
    assert after.level_unit == "dB SPL" and after.laeq == pytest.approx(before + 120, abs=0.01)
    assert_copies_equal()

    # A calibration changed without audio: the stored levels are shifted.
    shifted = make_recording(collector=alice, analysis={"unit": "dBFS", "laeq": -30.0})
    with transaction.atomic():  # as its callers do (it locks the levels)
        levels_recalibrate({shifted.pk: (None, 110.0)})
    assert m.Recording.objects.get(pk=shifted.pk).laeq == 80.0
    assert_copies_equal()

    # Measured again and failed (its file gone): the levels are deleted, and so the copies.
    Path(m.Recording.objects.get(pk=measured.pk).audio.path).unlink()
    assert recordings_reprocess([after]).queued == 1
    assert recording_process(measured.pk) == "failed"
    assert m.Recording.objects.get(pk=measured.pk).laeq is None
    assert_copies_equal()


def test_the_migration_copies_the_measurements_of_existing_rows_in_batches(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(9):
        make_recording(
            collector=alice,
            analysis={"laeq": 60.0 + i, "unit": "dBFS" if i % 2 else "dB SPL"},
            features={"duration_s": 1.0 + i},
            with_measurements=i != 4,
        )
    # As before the migration: the columns there, empty.
    m.Recording.objects.update(**dict.fromkeys(m.MEASURED_COPIES))
    copies, expected = copies_and_sources()
    assert copies != expected
    monkeypatch.setattr(backfill, "BATCH", 2)  # several batches over these ids
    # What RunPython hands it: the apps and the schema editor (only its connection is used).
    backfill.copy_measurements(apps, SimpleNamespace(connection=connection))
    assert assert_copies_equal() == 8
