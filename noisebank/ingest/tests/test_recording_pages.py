"""The detail page, its audio, editing and deleting; the single upload page."""

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from noisebank.catalog.models import Recording
from noisebank.ingest.services import recording_create
from noisebank.testing import make_recording, write_audio

pytestmark = pytest.mark.django_db


def upload(path: Path, collector: User, **metadata: str) -> Recording:
    return recording_create(
        file=path, filename=path.name, metadata=metadata, collector=collector
    ).recording


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def page(client: Client, rec: Recording) -> str:
    response = client.get(f"/recordings/{rec.noise_id}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_measured_recording_shows_player_plots_and_levels_with_units(
    charlie: User, charlie_client: Client, tmp_path: Path
) -> None:
    rec = upload(write_audio(tmp_path / "a.wav", seconds=2), charlie, name="Bell at dusk")
    call_command(
        "db_worker", batch=True, startup_delay=False, interval=0, reload=False, verbosity=0
    )
    html = page(charlie_client, rec)
    assert f'<audio controls preload="metadata" src="/recordings/{rec.noise_id}/audio"' in html
    for label in ("Waveform", "A-weighted Fast level", "Spectrogram", "1/3-octave band levels"):
        assert f'aria-label="{label}' in html, label
    assert "data:image/png;base64,iVBORw0KGgo" in html
    for mark in ("LAeq", "LA10", "LA90"):
        assert f'class="marklabel {mark.lower()}"' in html
    assert "uncalibrated: relative to digital full scale" in html and "dBFS(A)" in html
    assert 'http-equiv="refresh"' not in html


def test_a_pending_recording_says_it_is_being_measured_and_refreshes(
    charlie: User, charlie_client: Client, tmp_path: Path
) -> None:
    rec = upload(write_audio(tmp_path / "a.wav"), charlie)
    html = page(charlie_client, rec)
    assert "Waiting for the worker" in html and 'http-equiv="refresh"' in html
    assert "<audio" in html


def test_a_failed_recording_shows_its_reason_and_that_the_file_is_kept(
    charlie: User, charlie_client: Client, tmp_path: Path
) -> None:
    rec = upload(write_audio(tmp_path / "a.wav"), charlie)
    Recording.objects.filter(pk=rec.pk).update(status="failed", error="The file is damaged (x).")
    html = page(charlie_client, rec)
    assert "Measuring failed." in html and "The file is damaged (x)." in html
    assert "The file is kept" in html and "an admin can re-process it" in html


def test_a_recording_without_audio_still_has_a_good_page(
    charlie_client: Client, alice: User
) -> None:
    rec = make_recording(collector=alice, name="Seeded only")
    html = page(charlie_client, rec)
    assert "No audio stored for this recording" in html and "<audio" not in html
    assert "80.0" in html and "dB SPL(A)" in html  # its LAeq, with the unit
    assert 'aria-label="1/3-octave band levels' in html
    assert 'class="kpi main"' in html


def test_the_audio_streams_to_logged_in_users_with_ranges_and_to_nobody_else(
    charlie: User, charlie_client: Client, nobody: User, tmp_path: Path
) -> None:
    path = write_audio(tmp_path / "a.wav")
    rec = upload(path, charlie)
    url = f"/recordings/{rec.noise_id}/audio"
    whole = charlie_client.get(url)
    assert whole.status_code == 200 and whole["Content-Type"] == "audio/wav"
    assert body(whole) == path.read_bytes()
    part = charlie_client.get(url, HTTP_RANGE="bytes=100-199")
    assert (
        part.status_code == 206 and part["Content-Range"] == f"bytes 100-199/{path.stat().st_size}"
    )
    assert body(part) == path.read_bytes()[100:200]

    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    outsider = Client()
    outsider.force_login(nobody)
    assert outsider.get(url).status_code == 403
    assert Client().get("/media/" + rec.audio.name).status_code in (302, 404)


def test_only_its_collector_or_an_admin_edits_a_recording(
    charlie: User, charlie_client: Client, bob_client: Client, admin_client: Client
) -> None:
    rec = make_recording(collector=charlie)
    url = f"/recordings/{rec.noise_id}/edit/"
    assert bob_client.get(url).status_code == 403
    assert bob_client.post(url, {"name": "Mine now"}).status_code == 403
    assert charlie_client.get(url).status_code == 200
    response = charlie_client.post(url, {"name": "Renamed", "category": "Train pass-by"})
    assert response.status_code == 302
    rec.refresh_from_db()
    assert rec.name == "Renamed"
    assert admin_client.post(url, {"name": "By admin"}).status_code == 302
    bad = charlie_client.post(url, {"name": "x", "region": "Atlantis"})
    assert bad.status_code == 400 and "Unknown region “Atlantis”" in bad.content.decode()


def test_only_an_admin_deletes_and_the_file_goes_too(
    charlie: User, charlie_client: Client, admin_client: Client, tmp_path: Path,
    django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    rec = upload(write_audio(tmp_path / "a.wav"), charlie)
    stored = Path(rec.audio.path)
    url = f"/recordings/{rec.noise_id}/delete/"
    assert charlie_client.post(url).status_code == 403
    assert admin_client.get(url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url).status_code == 302
    assert not Recording.objects.filter(pk=rec.pk).exists() and not stored.exists()


def test_the_upload_page_takes_one_file_and_shows_rejections_in_words(
    charlie_client: Client, tmp_path: Path
) -> None:
    make_recording()
    content = write_audio(tmp_path / "a.wav").read_bytes()
    ok = charlie_client.post(
        "/recordings/upload/",
        {"file": SimpleUploadedFile("a.wav", content), "category": "Train pass-by"},
    )
    assert ok.status_code == 302
    rec = Recording.objects.get(original_filename="a.wav")
    assert ok["Location"] == f"/recordings/{rec.noise_id}/"

    again = charlie_client.post(
        "/recordings/upload/", {"file": SimpleUploadedFile("b.wav", content)}
    )
    assert again.status_code == 409
    assert f"already in the catalogue as {rec.noise_id}" in again.content.decode()
    text = charlie_client.post(
        "/recordings/upload/", {"file": SimpleUploadedFile("t.wav", b"just text\n" * 50)}
    )
    assert text.status_code == 422 and "contains text, not audio" in text.content.decode()
    nothing = charlie_client.post("/recordings/upload/", {"name": "x"})
    assert nothing.status_code == 400 and "Choose an audio file" in nothing.content.decode()


def test_the_upload_page_offers_the_taxonomy_for_cascading_selects(charlie_client: Client) -> None:
    rec = make_recording()
    html = charlie_client.get("/recordings/upload/").content.decode()
    assert f'data-parent="{rec.category_id}"' in html and "metadata.js" in html


def test_pages_need_a_role(nobody: User) -> None:
    rec = make_recording()
    client = Client()
    client.force_login(nobody)
    assert client.get(f"/recordings/{rec.noise_id}/").status_code == 403
    assert client.get("/recordings/upload/").status_code == 403
    assert Client().get(f"/recordings/{rec.noise_id}/").status_code == 302


def test_the_processing_page_counts_by_status_for_admins_only(
    charlie: User, charlie_client: Client, admin_client: Client, tmp_path: Path
) -> None:
    rec = upload(write_audio(tmp_path / "a.wav"), charlie)
    failed = upload(write_audio(tmp_path / "b.wav", seed=2), charlie)
    Recording.objects.filter(pk=failed.pk).update(status="failed", error="Damaged beyond repair.")
    assert charlie_client.get("/recordings/processing/").status_code == 403
    html = admin_client.get("/recordings/processing/").content.decode()
    assert 'class="stat card status-pending"><span class="stat-n">1</span>' in html
    assert "Damaged beyond repair." in html and 'http-equiv="refresh"' in html
    assert rec.noise_id not in html  # only failures are listed
