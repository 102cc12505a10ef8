"""Bulk curation from the catalogue: preview, apply in batches (a task when large), the audit
log, and the refusals (unknown taxon, contradictions, deleted meanwhile, a failing batch)."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from noisebank.catalog import models as m
from noisebank.curation import bulk
from noisebank.curation.models import BulkChange, RecordingChange
from noisebank.testing import make_many_recordings, make_recording, taxon

Review = m.Recording.Review


@pytest.fixture
def trains(charlie: User) -> list[m.Recording]:
    """Three freight trains (Train pass-by, Freight train, Container) and one horn."""
    recs = [make_recording(collector=charlie) for _ in range(3)]
    recs.append(make_recording(collector=charlie, category="Warning signals", sound_class="Horn",
                               subclass="Two-tone"))  # fmt: skip
    return recs


@pytest.fixture
def horn() -> m.SoundClass:
    return taxon(m.SoundClass, "Horn", category=taxon(m.Category, "Warning signals"))


def preview(client: Client, **form: Any) -> Any:
    return client.post("/recordings/bulk/preview/", form)


def apply(client: Client, **form: Any) -> Any:
    """Preview, then apply what the preview's form carries (as the confirm button does)."""
    shown = preview(client, **form)
    assert shown.status_code == 200, shown.content.decode()[:2000]
    assert shown.context["preview"].total > 0
    carried: dict[str, list[str]] = {}
    for k, v in shown.context["carried"]:
        carried.setdefault(k, []).append(v)
    carried["max_id"] = [str(shown.context["preview"].max_id)]
    return client.post("/recordings/bulk/apply/", carried, follow=True)


def test_a_reviewer_changes_the_class_of_ticked_recordings_after_a_preview(
    rita_client: Client, rita: User, trains: list[m.Recording], horn: m.SoundClass
) -> None:
    ticked = [trains[0].noise_id, trains[1].noise_id]
    shown = preview(rita_client, scope="selected", noise_id=ticked, operation="set",
                    set_sound_class="Horn")  # fmt: skip
    fields = {f["label"]: f for f in shown.context["preview"].fields}
    assert (
        fields["class"]["before"] == [("Freight train", 2)] and fields["class"]["after"] == "Horn"
    )
    assert fields["category"]["after"] == "Warning signals"  # a class sets its category
    sample = shown.context["preview"].sample[0]["changes"]
    assert ("subclass", "Container", "—") in sample  # a subclass of another class is cleared
    assert m.Recording.objects.filter(sound_class=horn).count() == 1  # nothing changed yet

    done = apply(rita_client, scope="selected", noise_id=ticked, operation="set",
                 set_sound_class=str(horn.pk))  # fmt: skip
    job = done.context["job"]
    assert (job.status, job.total, job.changed, job.unchanged) == ("done", 2, 2, 0)
    for rec in trains[:2]:
        rec.refresh_from_db()
        assert (rec.sound_class_id, rec.category.name, rec.subclass_id) == (
            horn.pk,
            "Warning signals",
            None,
        )
    trains[2].refresh_from_db()
    assert trains[2].sound_class.name == "Freight train"
    entries = RecordingChange.objects.filter(batch=job.pk, recording=trains[0])
    assert {(e.field, e.before, e.after, e.user) for e in entries} == {
        ("category", "Train pass-by", "Warning signals", rita),
        ("class", "Freight train", "Horn", rita),
        ("subclass", "Container", "—", rita),
    }
    page = rita_client.get(f"/recordings/{trains[0].noise_id}/").content.decode()
    assert "Bulk change: class" in page and "Freight train" in page


def test_all_matching_the_filters_means_what_the_list_shows_at_the_preview(
    rita_client: Client, trains: list[m.Recording], charlie: User
) -> None:
    hidden = make_recording(collector=charlie, review_state=Review.SUBMITTED)
    shown = preview(rita_client, scope="all", filters="category=Train+pass-by", operation="set",
                    set_time_of_day=str(taxon(m.TimeOfDay, "Night").pk))  # fmt: skip
    assert shown.context["preview"].total == 3  # accepted ones, as the catalogue lists them
    carried: dict[str, list[str]] = {}
    for k, v in shown.context["carried"]:
        carried.setdefault(k, []).append(v)
    carried["max_id"] = [str(shown.context["preview"].max_id)]
    later = make_recording(collector=charlie)  # added after the preview: left alone
    job = rita_client.post("/recordings/bulk/apply/", carried, follow=True).context["job"]
    assert job.changed == 3
    night = set(m.Recording.objects.filter(time_of_day__name="Night").values_list("pk", flat=True))
    assert night == {r.pk for r in trains[:3]}
    assert hidden.pk not in night and later.pk not in night


def test_an_unknown_taxon_or_a_contradiction_is_refused_and_nothing_changes(
    rita_client: Client, trains: list[m.Recording], horn: m.SoundClass
) -> None:
    ticked = [r.noise_id for r in trains]
    unknown = preview(rita_client, scope="selected", noise_id=ticked, operation="set",
                      set_category="Hornn", set_time_of_day="Night")  # fmt: skip
    assert unknown.status_code == 400
    html = unknown.content.decode()
    assert "category: Unknown category “Hornn”." in html
    assert "time of day: Unknown time of day “Night”." in html
    contradiction = preview(rita_client, scope="selected", noise_id=ticked, operation="set",
                            set_category="Train pass-by", set_sound_class="Horn")  # fmt: skip
    assert contradiction.status_code == 400
    assert "class “Horn” is not in the category chosen" in contradiction.content.decode()
    nothing = preview(rita_client, scope="selected", noise_id=ticked, operation="set")
    assert "Choose at least one field to change." in nothing.content.decode()
    # Applying without a preview, or a crafted form, is checked the same way.
    crafted = rita_client.post(
        "/recordings/bulk/apply/",
        {"scope": "selected", "noise_id": ticked, "operation": "set", "set_category": "Hornn",
         "max_id": "999"},
    )  # fmt: skip
    assert crafted.status_code == 400
    assert not BulkChange.objects.exists() and not RecordingChange.objects.exists()
    assert {r.category.name for r in m.Recording.objects.select_related("category")} == {
        "Train pass-by", "Warning signals",
    }  # fmt: skip


def test_recordings_deleted_between_preview_and_apply_are_reported_as_skipped(
    rita_client: Client, trains: list[m.Recording]
) -> None:
    ticked = [r.noise_id for r in trains[:3]]
    shown = preview(rita_client, scope="selected", noise_id=ticked, operation="reprocess")
    carried: dict[str, list[str]] = {}
    for k, v in shown.context["carried"]:
        carried.setdefault(k, []).append(v)
    carried["max_id"] = [str(shown.context["preview"].max_id)]
    trains[1].delete()
    done = rita_client.post("/recordings/bulk/apply/", carried, follow=True)
    job = done.context["job"]
    assert (job.total, job.missing, job.done) == (2, 1, 3)
    assert "1 deleted meanwhile (skipped)" in done.content.decode()


def test_a_new_calibration_remeasures_audio_and_shifts_the_levels_of_the_rest(
    rita_client: Client, charlie: User, django_capture_on_commit_callbacks: Any
) -> None:
    with_audio = make_recording(collector=charlie, audio="audio/a.wav", calibration_offset_db=110.0)
    without = make_recording(
        collector=charlie, calibration_offset_db=110.0,
        analysis={"laeq": 80.0, "lzeq": 88.0, "std_db": 6.1, "band_levels": {"1000": 72.0},
                  "level_series": {"laf_levels": [70.0, 90.0], "level_times_s": [0, 0.125]}},
    )  # fmt: skip
    ticked = [with_audio.noise_id, without.noise_id]
    with django_capture_on_commit_callbacks(execute=True):
        job = apply(rita_client, scope="selected", noise_id=ticked, operation="set",
                    set_calibration_offset_db="100").context["job"]  # fmt: skip
    assert (job.changed, job.requeued) == (2, 1)
    with_audio.refresh_from_db()
    assert with_audio.status == "pending"
    assert DBTaskResult.objects.filter(args_kwargs__args=[with_audio.pk]).exists()
    a = m.NoiseAnalysis.objects.get(recording=without)
    assert (a.unit, a.laeq, a.lzeq, a.std_db) == ("dB SPL", 70.0, 78.0, 6.1)
    assert a.band_levels == {"1000": 62.0} and a.level_series["laf_levels"] == [60.0, 80.0]
    # Cleared, with no device offset behind it: back to dBFS.
    apply(rita_client, scope="selected", noise_id=[without.noise_id], operation="set",
          set_calibration_offset_db="none")  # fmt: skip
    a.refresh_from_db()
    assert (a.unit, a.laeq) == ("dBFS", -30.0)


def test_moving_recordings_to_a_calibrated_device_takes_the_calibration_covering_their_time(
    rita_client: Client, charlie: User
) -> None:
    kit = taxon(m.Device, "Calibrated kit", calibration_offset_db=100.0)
    m.Calibration.objects.create(
        device=kit, nominal_db=94.0, measured_dbfs=-26.0, offset_db=120.0, frequency_hz=1000.0,
        steadiness_db=0.01, steady_s=5.0, valid_from=datetime(2026, 3, 1, tzinfo=UTC),
        file="calibrations/k.wav",
    )  # fmt: skip
    after = make_recording(collector=charlie, recorded_at=datetime(2026, 3, 2, tzinfo=UTC),
                           analysis={"unit": "dBFS", "laeq": -30.0})  # fmt: skip
    before = make_recording(collector=charlie, recorded_at=datetime(2026, 2, 2, tzinfo=UTC),
                            analysis={"unit": "dBFS", "laeq": -30.0})  # fmt: skip
    apply(rita_client, scope="selected", noise_id=[after.noise_id, before.noise_id],
          operation="set", set_device=str(kit.pk))  # fmt: skip
    assert m.NoiseAnalysis.objects.get(recording=after).laeq == 90.0  # -30 + the calibration's
    assert m.NoiseAnalysis.objects.get(recording=before).laeq == 70.0  # -30 + the typed offset


def test_bulk_delete_removes_recordings_and_their_files_and_keeps_the_log(
    rita_client: Client, charlie: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    audio = Path(settings.MEDIA_ROOT) / "audio" / "gone.wav"
    audio.parent.mkdir(parents=True)
    audio.write_bytes(b"RIFF")
    doomed = make_recording(collector=charlie, audio="audio/gone.wav")
    kept = make_recording(collector=charlie)
    with django_capture_on_commit_callbacks(execute=True):
        done = apply(rita_client, scope="selected", noise_id=[doomed.noise_id], operation="delete")
    assert done.context["job"].changed == 1
    assert list(m.Recording.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not audio.exists()
    entry = RecordingChange.objects.get(noise_id=doomed.noise_id)
    assert (entry.kind, entry.recording, entry.after) == ("delete", None, "deleted")


# The worker closes its connection between tasks: the data must be committed for real.
@pytest.mark.django_db(transaction=True)
def test_a_large_selection_runs_as_a_task_and_shows_its_progress(
    rita_client: Client, charlie: User, django_capture_on_commit_callbacks: Any
) -> None:
    make_many_recordings(bulk.INLINE_MAX + 100, collector=charlie)
    night = taxon(m.TimeOfDay, "Night")
    with django_capture_on_commit_callbacks(execute=True):
        page = apply(rita_client, scope="all", filters="", operation="set",
                     set_time_of_day=str(night.pk))  # fmt: skip
    job = page.context["job"]
    assert job.status == "queued" and '<meta http-equiv="refresh"' in page.content.decode()
    Worker(
        queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id="test-worker", excluded_queue_names=[],
    ).run()  # fmt: skip
    job.refresh_from_db()
    assert (job.status, job.done, job.changed, job.percent) == ("done", 600, 600, 100)
    assert m.Recording.objects.filter(time_of_day=night).count() == 600
    assert RecordingChange.objects.filter(batch=job.pk).count() == 600
    shown = rita_client.get(f"/recordings/bulk/{job.pk}/").content.decode()
    assert "600 changed" in shown and "the first 200 shown" in shown


def test_a_failing_batch_is_undone_and_the_run_says_what_was_applied(
    rita: User, charlie: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    recs = make_many_recordings(5, collector=charlie)
    monkeypatch.setattr(bulk, "BATCH", 2)
    real_apply = bulk._apply
    calls = []

    def fail_in_the_second_batch(job: Any, user: Any, ids: list[int]) -> Any:
        counts = real_apply(job, user, ids)  # its writes happen, then the batch fails
        calls.append(ids)
        if len(calls) == 2:
            raise OSError("disk full")
        return counts

    monkeypatch.setattr(bulk, "_apply", fail_in_the_second_batch)
    night = taxon(m.TimeOfDay, "Night")
    spec = bulk.BulkSpec("set", {"time_of_day": night.pk}, tuple(r.noise_id for r in recs))
    job = bulk.bulk_create(spec=spec, user=rita, preview=bulk.bulk_preview(spec, rita))
    assert bulk.bulk_run(job.pk) == "failed"
    job.refresh_from_db()
    assert job.changed == 2 and "Stopped at batch 2 (OSError: disk full)" in job.error
    changed = set(m.Recording.objects.filter(time_of_day=night).values_list("pk", flat=True))
    assert changed == {recs[0].pk, recs[1].pk}  # the first batch stays; the second was undone
    assert RecordingChange.objects.filter(batch=job.pk).count() == 2


def test_only_curators_see_the_tick_boxes_and_reach_the_bulk_pages(
    rita_client: Client, alice_client: Client, charlie_client: Client, trains: list[m.Recording]
) -> None:
    assert 'id="bulk"' in rita_client.get("/recordings/").content.decode()
    for client in (alice_client, charlie_client):
        assert 'id="bulk"' not in client.get("/recordings/").content.decode()
        assert client.get("/recordings/bulk/?scope=all").status_code == 403
        refused = preview(client, scope="selected", noise_id=[trains[0].noise_id],
                          operation="delete")  # fmt: skip
        assert refused.status_code == 403
    assert m.Recording.objects.count() == 4


def test_a_single_edit_is_logged_before_and_after(
    charlie_client: Client, trains: list[m.Recording]
) -> None:
    rec = trains[0]
    charlie_client.post(
        f"/recordings/{rec.noise_id}/edit/",
        {"name": "Freight at Tema, 25 m", "category": str(rec.category_id),
         "sound_class": str(rec.sound_class_id), "subclass": str(rec.subclass_id),
         "region": str(rec.region_id), "community": str(rec.community_id)},
    )  # fmt: skip
    entries = {(e.kind, e.field, e.before, e.after) for e in RecordingChange.objects.all()}
    assert ("edit", "name", rec.name, "Freight at Tema, 25 m") in entries
    # It was accepted: its collector's edit sends it back to the reviewers.
    assert ("review", "review_state", "accepted", "submitted") in entries


def test_a_reviewer_saving_a_recording_deleted_meanwhile_is_told_and_nothing_is_made(
    rita_client: Client, trains: list[m.Recording]
) -> None:
    rec = trains[0]
    assert rita_client.get(f"/recordings/{rec.noise_id}/edit/").status_code == 200
    rec.delete()  # by someone else, while the form was open
    saved = rita_client.post(f"/recordings/{rec.noise_id}/edit/", {"name": "Renamed"})
    assert saved.status_code == 404
    page = saved.content.decode()
    assert f"No recording {rec.noise_id}." in page and "deleted meanwhile" in page
    assert not m.Recording.objects.filter(noise_id=rec.noise_id).exists()
    assert not RecordingChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_bulk_change_whose_worker_died_is_run_again_to_the_end_by_the_next(
    rita_client: Client, charlie: User, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from noisebank.ops.heartbeat import ALIVE_WITHIN
    from noisebank.ops.worker import orphans_requeue

    make_many_recordings(bulk.INLINE_MAX + 100, collector=charlie)
    night = taxon(m.TimeOfDay, "Night")
    with django_capture_on_commit_callbacks(execute=True):
        page = apply(rita_client, scope="all", filters="", operation="set",
                     set_time_of_day=str(night.pk))  # fmt: skip
    job = page.context["job"]
    # A worker claimed it, applied the first batch, and was killed.
    long_ago = timezone.now() - timedelta(seconds=ALIVE_WITHIN + 5)
    DBTaskResult.objects.update(status="RUNNING", started_at=long_ago, worker_ids=["killed"])
    BulkChange.objects.filter(pk=job.pk).update(status="running")
    first = list(m.Recording.objects.order_by("id").values_list("id", flat=True)[: bulk.BATCH])
    with transaction.atomic():
        bulk._apply(BulkChange.objects.get(pk=job.pk), job.user, first)

    assert orphans_requeue() == 1
    job.refresh_from_db()
    assert (job.status, job.done) == ("queued", 0)
    Worker(
        queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id="test-worker", excluded_queue_names=[],
    ).run()  # fmt: skip
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 600)
    assert job.changed + len(first) == 600 and job.unchanged == len(first)
    assert m.Recording.objects.filter(time_of_day=night).count() == 600
    assert RecordingChange.objects.filter(batch=job.pk).count() == 600  # each change once
