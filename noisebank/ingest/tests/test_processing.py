"""Measuring in the worker: the real django-tasks-db worker runs every queued task here."""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from noisebank.accounts.roles import Role
from noisebank.catalog.models import Device, Recording
from noisebank.ingest.services import INTERRUPTED, recording_create, recordings_sweep_stale
from noisebank.ingest.tasks import process_recording
from noisebank.testing import make_recording, make_user, write_audio

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(db: None) -> Client:
    """An admin who may use Django's admin site (staff)."""
    client = Client()
    client.force_login(make_user("boss", Role.ADMIN, is_staff=True, is_superuser=True))
    return client


def run_worker() -> None:
    call_command(
        "db_worker", batch=True, startup_delay=False, interval=0, reload=False, verbosity=0
    )


def upload(path: Path, collector: User, **metadata: str) -> Recording:
    return recording_create(
        file=path, filename=path.name, metadata=metadata, collector=collector
    ).recording


def test_the_worker_measures_an_upload_in_db_spl_with_its_devices_calibration(
    charlie: User, tmp_path: Path
) -> None:
    Device.objects.create(name="Calibrated", calibration_offset_db=120.0)
    # 1 kHz at -26 dBFS on a recorder whose 0 dBFS is 120 dB SPL: 94 dB SPL.
    rec = upload(write_audio(tmp_path / "cal.flac", format="FLAC", level_dbfs=-26), charlie,
                 device="calibrated")  # fmt: skip
    assert rec.status == "pending"
    run_worker()
    rec.refresh_from_db()
    assert rec.status == "ready" and rec.error == ""
    assert rec.analysis.unit == "dB SPL"
    assert rec.analysis.laeq == pytest.approx(94.0, abs=0.1)
    assert rec.features.duration_s == pytest.approx(1.0) and rec.features.sample_rate == 48000
    series = rec.analysis.level_series
    assert series["laf_levels"] and len(series["waveform"]["max"]) > 100
    assert series["spectrogram"]["png"].startswith("iVBORw0KGgo")  # base64 of the PNG signature


def test_without_calibration_levels_stay_in_dbfs(charlie: User, tmp_path: Path) -> None:
    rec = upload(write_audio(tmp_path / "raw.wav", level_dbfs=-20), charlie)
    run_worker()
    rec.refresh_from_db()
    assert rec.analysis.unit == "dBFS" and rec.analysis.laeq == pytest.approx(-20.0, abs=0.1)


def test_a_file_that_fails_decoding_is_failed_with_its_reason_and_its_bytes_kept(
    charlie: User, staff_client: Client, tmp_path: Path
) -> None:
    good = write_audio(tmp_path / "good.flac", seconds=3, format="FLAC")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # the header still says 3 s
    rec = upload(cut, charlie)
    run_worker()
    rec.refresh_from_db()
    assert rec.status == "failed" and "damaged" in rec.error
    stored = Path(rec.audio.path)
    assert stored.read_bytes() == cut.read_bytes()
    assert not hasattr(rec, "analysis") or rec.analysis is None

    # The cause fixed (here: the whole file put in place), an admin re-processes it in bulk.
    shutil.copyfile(good, stored)
    response = staff_client.post(
        "/admin/catalog/recording/",
        {"action": "reprocess_selected", "_selected_action": [rec.pk]},
        follow=True,
    )
    assert "Queued 1 recording for measuring" in response.content.decode()
    rec.refresh_from_db()
    assert rec.status == "pending" and rec.error == ""
    run_worker()
    rec.refresh_from_db()
    assert rec.status == "ready" and rec.features.duration_s == pytest.approx(3.0)


def test_bulk_reprocess_skips_recordings_without_audio(staff_client: Client) -> None:
    rec = make_recording()
    response = staff_client.post(
        "/admin/catalog/recording/",
        {"action": "reprocess_selected", "_selected_action": [rec.pk]},
        follow=True,
    )
    assert "skipped: 1 without audio" in response.content.decode()
    assert not DBTaskResult.objects.exists()


def test_a_recording_left_processing_by_a_dead_worker_is_queued_again_once_then_failed(
    charlie: User, tmp_path: Path, settings
) -> None:
    rec = upload(write_audio(tmp_path / "a.wav"), charlie)
    busy = upload(write_audio(tmp_path / "b.wav", seed=2), charlie)
    DBTaskResult.objects.all().delete()  # the workers' claims are gone with them
    long_ago = timezone.now() - timedelta(seconds=settings.NOISEBANK_PROCESSING_TIMEOUT_S + 60)
    Recording.objects.filter(pk=rec.pk).update(status="processing", updated_at=long_ago)
    # Recently started work is left alone.
    Recording.objects.filter(pk=busy.pk).update(status="processing")

    assert recordings_sweep_stale() == (1, 0)
    rec.refresh_from_db()
    assert rec.status == "pending" and rec.error.startswith(INTERRUPTED)
    assert DBTaskResult.objects.count() == 1

    Recording.objects.filter(pk=rec.pk).update(status="processing", updated_at=long_ago)
    assert recordings_sweep_stale() == (0, 1)
    rec.refresh_from_db()
    assert rec.status == "failed" and "interrupted twice" in rec.error
    assert Path(rec.audio.path).exists()


def test_the_next_worker_run_measures_a_recording_a_dead_worker_left_behind(
    charlie: User, tmp_path: Path, settings
) -> None:
    stuck = upload(write_audio(tmp_path / "a.wav"), charlie)
    DBTaskResult.objects.all().delete()
    long_ago = timezone.now() - timedelta(seconds=settings.NOISEBANK_PROCESSING_TIMEOUT_S + 60)
    Recording.objects.filter(pk=stuck.pk).update(status="processing", updated_at=long_ago)
    fresh = upload(write_audio(tmp_path / "b.wav", seed=2), charlie)
    run_worker()
    assert set(Recording.objects.values_list("status", flat=True)) == {"ready"}
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.error == "" and fresh.analysis.laeq is not None


def test_a_queued_recording_without_audio_fails_with_a_reason() -> None:
    rec = make_recording(status="pending", with_measurements=False)
    process_recording.enqueue(rec.pk)
    run_worker()
    rec.refresh_from_db()
    assert rec.status == "failed" and rec.error == "No audio file is stored for this recording."


def test_a_recording_is_measured_once_even_if_queued_twice(charlie: User, tmp_path: Path) -> None:
    rec = upload(write_audio(tmp_path / "a.wav"), charlie)
    process_recording.enqueue(rec.pk)
    run_worker()
    results = list(DBTaskResult.objects.values_list("return_value", flat=True))
    assert sorted(results) == ["ready", "skipped"]


def test_a_recording_whose_worker_stopped_beating_is_queued_again_then_measured_once(
    charlie: User, tmp_path: Path
) -> None:
    """No NOISEBANK_PROCESSING_TIMEOUT_MIN wait: the heartbeat tells the live workers."""
    from noisebank.catalog.models import NoiseAnalysis
    from noisebank.ops.heartbeat import ALIVE_WITHIN
    from noisebank.ops.models import WorkerHeartbeat
    from noisebank.ops.worker import orphans_requeue

    rec = upload(write_audio(tmp_path / "a.wav"), charlie)
    (task,) = DBTaskResult.objects.all()
    lost_since = timezone.now() - timedelta(seconds=ALIVE_WITHIN + 5)
    WorkerHeartbeat.objects.create(worker_id="lost", hostname="h", pid=1, seen_at=lost_since)
    WorkerHeartbeat.objects.create(worker_id="alive", hostname="h", pid=2)

    def claimed_by(worker_id: str) -> None:
        DBTaskResult.objects.filter(pk=task.pk).update(
            status="RUNNING", started_at=lost_since, worker_ids=[worker_id]
        )
        Recording.objects.filter(pk=rec.pk).update(status="processing")  # recently updated

    claimed_by("alive")  # busy for a while, but beating: left alone
    assert orphans_requeue() == 0 and recordings_sweep_stale() == (0, 0)
    claimed_by("lost")
    assert orphans_requeue() == 1
    rec.refresh_from_db()
    assert rec.status == "pending" and rec.error.startswith(INTERRUPTED)
    assert DBTaskResult.objects.get().status == "READY"  # the same task, not a new one
    assert orphans_requeue() == 0  # queued once

    run_worker()
    rec.refresh_from_db()
    assert (rec.status, rec.error) == ("ready", "")
    assert NoiseAnalysis.objects.filter(recording=rec).count() == 1
    assert DBTaskResult.objects.get().return_value == "ready"


def test_a_recording_whose_worker_is_lost_twice_is_failed_not_looped(
    charlie: User, tmp_path: Path
) -> None:
    from noisebank.ops.heartbeat import ALIVE_WITHIN
    from noisebank.ops.worker import orphans_requeue

    rec = upload(write_audio(tmp_path / "a.wav"), charlie)
    lost_since = timezone.now() - timedelta(seconds=ALIVE_WITHIN + 5)
    for _ in range(2):
        DBTaskResult.objects.update(status="RUNNING", started_at=lost_since, worker_ids=["gone"])
        Recording.objects.filter(pk=rec.pk).update(status="processing")
        assert orphans_requeue() == 1
    rec.refresh_from_db()
    assert rec.status == "failed" and "interrupted twice" in rec.error
    run_worker()
    assert DBTaskResult.objects.get().return_value == "skipped"
