"""Resumable chunked uploads (the bulk page's way in), interrupted and resumed."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from noisebank.catalog.models import Recording
from noisebank.ingest.chunks import uploads_sweep_expired
from noisebank.ingest.models import ChunkedUpload
from noisebank.ingest.tests.samples import TWO_GB, bad_batch
from noisebank.testing import write_audio

pytestmark = pytest.mark.django_db


def start(client: Client, name: str, size: int):
    return client.post(
        "/api/v1/uploads", {"filename": name, "size": size}, content_type="application/json"
    )


def put(
    client: Client, upload_id: str, data: bytes, first: int, size: int, last: int | None = None
):
    last = first + len(data) - 1 if last is None else last
    return client.put(
        f"/api/v1/uploads/{upload_id}",
        data,
        content_type="application/octet-stream",
        HTTP_CONTENT_RANGE=f"bytes {first}-{last}/{size}",
    )


def finish(client: Client, upload_id: str, **metadata: str):
    return client.post(
        f"/api/v1/uploads/{upload_id}/finish",
        {"metadata": metadata},
        content_type="application/json",
    )


def send_whole(client: Client, name: str, content: bytes, chunk: int = 40_000, **metadata: str):
    started = start(client, name, len(content))
    if started.status_code != 201:
        return started
    upload_id = started.json()["upload_id"]
    for first in range(0, len(content), chunk):
        assert (
            put(client, upload_id, content[first : first + chunk], first, len(content)).status_code
            == 200
        )
    return finish(client, upload_id, **metadata)


def test_an_upload_cut_off_mid_chunk_resumes_from_what_arrived(
    charlie_client: Client, tmp_path: Path
) -> None:
    content = write_audio(tmp_path / "a.flac", seconds=6, format="FLAC").read_bytes()
    size = len(content)
    assert size > 100_000
    upload_id = start(charlie_client, "a.flac", size).json()["upload_id"]
    assert put(charlie_client, upload_id, content[:50_000], 0, size).json()["offset"] == 50_000

    # The network breaks: the second chunk announces 50,000 bytes but only 12,345 arrive.
    cut = put(charlie_client, upload_id, content[50_000:62_345], 50_000, size, last=99_999)
    assert cut.status_code == 400 and cut.json()["offset"] == 62_345

    # The client asks where to go on, and a stale retry of the old chunk is refused.
    offset = charlie_client.get(f"/api/v1/uploads/{upload_id}").json()["offset"]
    assert offset == 62_345
    stale = put(charlie_client, upload_id, content[50_000:100_000], 50_000, size)
    assert stale.status_code == 409 and stale.json()["offset"] == 62_345
    early = finish(charlie_client, upload_id)
    assert early.status_code == 409 and "incomplete" in early.json()["detail"]

    assert put(charlie_client, upload_id, content[offset:], offset, size).json()["complete"]
    done = finish(charlie_client, upload_id, name="Resumed")
    assert done.status_code == 201, done.content
    rec = Recording.objects.get(noise_id=done.json()["noise_id"])
    assert Path(rec.audio.path).read_bytes() == content and rec.name == "Resumed"
    assert not ChunkedUpload.objects.exists() and not rec.audio.path.endswith(".part")


def test_the_bulk_batch_each_file_gets_its_reason_and_the_good_ones_go_in(
    charlie_client: Client, tmp_path: Path
) -> None:
    for sample in bad_batch(tmp_path, with_huge=False):
        response = send_whole(
            charlie_client, sample.filename, sample.path.read_bytes(), **sample.metadata
        )
        assert response.status_code != 500
        if sample.expect is None:
            assert response.status_code == 201, (sample.filename, response.content)
        else:
            assert sample.expect in response.json()["detail"], (sample.filename, response.json())
    assert Recording.objects.count() == 3
    assert Recording.objects.filter(original_filename="pass_wd.wav").exists() or (
        Recording.objects.filter(original_filename__startswith="pass").exists()
    )
    # Rejected uploads leave no part files behind (bad metadata keeps its upload for a retry).
    assert ChunkedUpload.objects.count() == 1


def test_bad_metadata_can_be_corrected_and_the_finish_retried(
    charlie_client: Client, tmp_path: Path
) -> None:
    content = write_audio(tmp_path / "a.wav").read_bytes()
    refused = send_whole(charlie_client, "a.wav", content, category="Spaceships")
    assert refused.status_code == 400
    upload_id = ChunkedUpload.objects.get().id
    assert finish(charlie_client, str(upload_id)).status_code == 201


def test_a_two_gigabyte_upload_is_refused_before_a_byte_is_sent(charlie_client: Client) -> None:
    response = start(charlie_client, "huge.wav", TWO_GB)
    assert response.status_code == 413 and "upload limit" in response.json()["detail"]
    assert not ChunkedUpload.objects.exists()


def test_chunks_must_fit_the_declared_file(charlie_client: Client) -> None:
    upload_id = start(charlie_client, "a.wav", 100).json()["upload_id"]
    assert put(charlie_client, upload_id, b"x" * 10, 95, 100).status_code == 416
    assert put(charlie_client, upload_id, b"x" * 10, 0, 200).status_code == 400
    no_range = charlie_client.put(f"/api/v1/uploads/{upload_id}", b"x")
    assert no_range.status_code == 400 and "Content-Range" in no_range.json()["detail"]


def test_someone_elses_upload_does_not_exist_for_you(
    charlie_client: Client, bob_client: Client
) -> None:
    upload_id = start(charlie_client, "a.wav", 100).json()["upload_id"]
    assert bob_client.get(f"/api/v1/uploads/{upload_id}").status_code == 404
    assert put(bob_client, upload_id, b"x" * 10, 0, 100).status_code == 404
    assert bob_client.delete(f"/api/v1/uploads/{upload_id}").status_code == 404
    assert charlie_client.delete(f"/api/v1/uploads/{upload_id}").status_code == 204
    assert not ChunkedUpload.objects.exists()


def test_unfinished_uploads_expire(charlie: User, settings) -> None:
    client = Client()
    client.force_login(charlie)
    upload_id = start(client, "a.wav", 100).json()["upload_id"]
    upload = ChunkedUpload.objects.get()
    ChunkedUpload.objects.filter(pk=upload.pk).update(
        created_at=timezone.now() - timedelta(hours=settings.NOISEBANK_UPLOAD_TTL_HOURS + 1)
    )
    assert uploads_sweep_expired() == 1
    assert not upload.path.exists()
    assert client.get(f"/api/v1/uploads/{upload_id}").status_code == 404


def test_the_manifest_check_returns_rows_or_one_clear_reason(charlie_client: Client) -> None:
    good = io.BytesIO(b"file,category,class\na.wav,Train pass-by,Freight train\n")
    good.name = "m.csv"
    response = charlie_client.post("/api/v1/uploads/manifest", {"manifest": good})
    assert response.json()["rows"] == [
        {"line": 2, "file": "a.wav", "metadata": {"category": "Train pass-by",
                                                  "sound_class": "Freight train"}}
    ]  # fmt: skip
    bad = io.BytesIO(b"file,colour\na.wav,red\n")
    bad.name = "m.csv"
    refused = charlie_client.post("/api/v1/uploads/manifest", {"manifest": bad})
    assert (
        refused.status_code == 400 and "Unknown manifest column: colour" in refused.json()["detail"]
    )


def test_the_bulk_page_is_for_uploaders(charlie_client: Client, nobody: User) -> None:
    page = charlie_client.get("/recordings/upload/bulk/")
    assert page.status_code == 200 and b"bulk.js" in page.content
    outsider = Client()
    outsider.force_login(nobody)
    assert outsider.get("/recordings/upload/bulk/").status_code == 403
    assert Client().get("/recordings/upload/bulk/").status_code == 302
