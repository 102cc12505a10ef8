"""recording_create: the one way in, with the whole bad-input list of issue 5."""

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django_tasks_db.models import DBTaskResult

from noisebank.catalog.models import Category, Recording, SoundClass
from noisebank.ingest.services import UploadRejected, recording_create
from noisebank.ingest.tests.samples import bad_batch
from noisebank.testing import make_recording, write_audio

pytestmark = pytest.mark.django_db


def create(path: Path, collector: User, name: str | None = None, **metadata: str):
    return recording_create(
        file=path, filename=name or path.name, metadata=metadata, collector=collector
    )


def test_every_bad_input_gets_its_own_reason_and_the_good_files_go_in(
    charlie: User, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    make_recording(category="Train pass-by")
    outcomes: dict[str, tuple[str, Any]] = {}
    with django_capture_on_commit_callbacks(execute=True):
        for sample in bad_batch(tmp_path / "batch"):
            try:
                created = recording_create(
                    file=sample.path,
                    filename=sample.filename,
                    metadata=sample.metadata,
                    collector=charlie,
                )
                outcomes[sample.filename] = ("ok", created)
            except UploadRejected as e:
                outcomes[sample.filename] = (e.kind, e.reason)
    for sample in bad_batch(tmp_path / "again", with_huge=False):
        if sample.expect is None:
            assert outcomes[sample.filename][0] == "ok", outcomes[sample.filename]
        else:
            kind, reason = outcomes[sample.filename]
            assert kind == sample.kind and sample.expect in reason, (sample.filename, reason)
    assert outcomes["huge.wav"][0] == "too_large"
    accepted = Recording.objects.filter(collector=charlie)
    assert accepted.count() == 3
    assert set(accepted.values_list("status", flat=True)) == {"pending"}
    # Each accepted file is queued exactly once; each stored file is named by its noise_id.
    assert DBTaskResult.objects.count() == 3
    for rec in accepted:
        assert Path(rec.audio.path).is_file() and rec.noise_id in rec.audio.name
    duplicate_reason = outcomes["copy-of-good.wav"][1]
    assert accepted.get(original_filename="good.wav").noise_id in duplicate_reason


def test_a_rejected_file_leaves_nothing_behind(charlie: User, tmp_path: Path, settings) -> None:
    path = write_audio(tmp_path / "x.wav")
    with pytest.raises(UploadRejected):
        create(path, charlie, category="Nope")
    assert not Recording.objects.exists()
    assert not Path(settings.MEDIA_ROOT).exists() or not any(Path(settings.MEDIA_ROOT).rglob("*.*"))
    assert path.exists()  # the caller's file is untouched


def test_a_name_with_directory_parts_and_control_characters_is_made_safe(
    charlie: User, tmp_path: Path
) -> None:
    created = create(write_audio(tmp_path / "a.wav"), charlie, name="../../etc/pa\x07ss\x1b.wav")
    assert created.recording.original_filename == "pass.wav"
    assert "made safe" in created.notes[0]
    assert created.recording.name == "pass"


def test_taxonomy_takes_ids_or_names_in_any_case_and_children_imply_parents(
    charlie: User, tmp_path: Path
) -> None:
    cls = make_recording().sound_class
    created = create(
        write_audio(tmp_path / "a.wav"),
        charlie,
        sound_class="FREIGHT train",
        region="greater accra",
    )
    rec = created.recording
    assert rec.sound_class == cls and rec.category == cls.category
    assert rec.region.name == "Greater Accra"
    by_id = create(write_audio(tmp_path / "b.wav", seed=9), charlie, category=str(cls.category_id))
    assert by_id.recording.category == cls.category


def test_a_class_from_another_category_is_refused_naming_the_field(
    charlie: User, tmp_path: Path
) -> None:
    make_recording()
    other = Category.objects.create(name="Warning signals")
    SoundClass.objects.create(name="Horn", category=other)
    with pytest.raises(UploadRejected) as caught:
        create(
            write_audio(tmp_path / "a.wav"), charlie, category="Train pass-by", sound_class="Horn"
        )
    assert caught.value.kind == "metadata"
    assert "sound_class" in caught.value.errors and "Unknown class “Horn”" in caught.value.reason


def test_unknown_fields_and_bad_values_are_named(charlie: User, tmp_path: Path) -> None:
    with pytest.raises(UploadRejected) as caught:
        create(write_audio(tmp_path / "a.wav"), charlie, colour="red", latitude="95")
    assert "Unknown field: colour" in caught.value.reason
    assert "latitude" in caught.value.errors


def test_someone_without_a_role_cannot_upload(nobody: User, tmp_path: Path) -> None:
    with pytest.raises(UploadRejected) as caught:
        create(write_audio(tmp_path / "a.wav"), nobody)
    assert caught.value.kind == "forbidden"
    assert not Recording.objects.exists()


def test_saving_a_recording_queues_nothing(
    charlie: User, django_capture_on_commit_callbacks
) -> None:
    rec = make_recording(collector=charlie, status="pending")
    with django_capture_on_commit_callbacks(execute=True):
        rec.name = "Renamed"
        rec.save()
    assert not DBTaskResult.objects.exists()
