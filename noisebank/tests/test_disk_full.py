"""A full disk while an export or an upload is written: a clear error, no partial file left,
the database as it was. The disk is a real one, made full: a 1 MB tmpfs the test mounts (which
needs root, as `.ci/run` has; elsewhere these tests are skipped and the summary says so)."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from noisebank.accounts.models import token_create
from noisebank.catalog.models import Recording
from noisebank.exports.models import ExportJob
from noisebank.exports.tests.test_jobs_api import run_worker
from noisebank.ingest.models import ChunkedUpload
from noisebank.testing import make_many_recordings, make_recording, write_audio

pytestmark = pytest.mark.usefixtures("transactional_db")

DISK_BYTES = 1 << 20


def _can_mount() -> bool:
    return os.geteuid() == 0 and Path("/proc/filesystems").read_text().count("tmpfs") > 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if not _can_mount():
        pytest.skip("a full disk is a small tmpfs the test mounts: needs root (as .ci/run has)")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a full disk is a small tmpfs the test mounts: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.fixture
def big_selection(alice: User) -> None:
    # About 2 MB of CSV: twice the disk.
    make_many_recordings(3000, collector=alice, description="a long description " * 30)


def test_an_export_job_on_a_full_disk_fails_with_the_reason_and_leaves_no_file(
    settings: Any, small_disk: Path, big_selection: None, alice_client: Client
) -> None:
    settings.EXPORT_ROOT = small_disk / "exports"
    response = alice_client.post(
        "/api/v1/exports", {"format": "csv", "columns": "all"}, content_type="application/json"
    )
    assert response.status_code == 202, response.content
    run_worker()
    job = ExportJob.objects.get(pk=response.json()["id"])
    assert job.status == ExportJob.Status.FAILED
    assert "ran out of disk space" in job.error and not job.file_name
    assert files_in(small_disk) == []  # the partial file is gone: the disk has room again
    assert alice_client.get(f"/api/v1/exports/{job.pk}/download").status_code == 409
    page = alice_client.get(f"/api/v1/exports/{job.pk}").json()
    assert page["status"] == "failed" and "disk space" in page["error"]


def test_the_export_command_on_a_full_disk_says_so_and_leaves_no_file(
    small_disk: Path, big_selection: None
) -> None:
    target = small_disk / "all.csv"
    with pytest.raises(CommandError, match=r"the disk is full.*partial file is deleted"):
        call_command("export", "--columns", "all", "--output", str(target))
    assert files_in(small_disk) == []


def test_an_upload_on_a_full_disk_is_a_507_and_stores_nothing(
    settings: Any, small_disk: Path, charlie: User, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = small_disk / "media"
    make_recording()  # the taxonomy
    recordings = Recording.objects.count()
    audio = write_audio(tmp_path / "long.wav", seconds=12).read_bytes()  # 1.15 MB
    assert len(audio) > DISK_BYTES
    _, token = token_create(user=charlie, name="test")
    response = Client().post(
        "/api/v1/recordings",
        {"file": SimpleUploadedFile("long.wav", audio), "category": "Train pass-by"},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 507, response.content
    body = response.json()
    assert body["kind"] == "no_space" and "out of disk space" in body["detail"]
    assert "nothing was added" in body["detail"]
    assert Recording.objects.count() == recordings
    assert files_in(small_disk) == []
    short = write_audio(tmp_path / "short.wav", seconds=1).read_bytes()  # room for this one
    fits = Client().post(
        "/api/v1/recordings",
        {"file": SimpleUploadedFile("short.wav", short), "category": "Train pass-by"},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert fits.status_code == 201, fits.content


def test_a_chunk_on_a_full_disk_is_a_507_and_the_upload_resumes_where_it_was(
    settings: Any, small_disk: Path, charlie: User, tmp_path: Path
) -> None:
    settings.UPLOAD_ROOT = small_disk / "uploads"
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=charlie, name='t')[1]}")
    size = 1_500_000
    started = client.post(
        "/api/v1/uploads", {"filename": "day.wav", "size": size}, content_type="application/json"
    )
    assert started.status_code == 201, started.content
    upload_id = started.json()["upload_id"]

    def put(first: int, length: int) -> Any:
        return client.put(
            f"/api/v1/uploads/{upload_id}",
            os.urandom(length),
            content_type="application/octet-stream",
            HTTP_CONTENT_RANGE=f"bytes {first}-{first + length - 1}/{size}",
        )

    assert put(0, 400_000).status_code == 200
    full = put(400_000, 800_000)  # more than the room left
    assert full.status_code == 507, full.content
    assert full.json()["offset"] == 400_000 and "continues at byte 400000" in full.json()["detail"]
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert upload.path.stat().st_size == 400_000  # none of the refused chunk was kept
    assert client.get(f"/api/v1/uploads/{upload_id}").json()["offset"] == 400_000
    assert put(400_000, 100_000).status_code == 200  # a chunk that fits goes on from there
