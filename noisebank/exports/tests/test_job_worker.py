"""Export jobs run by a real `noisebank worker` process: picked up, finished; killed or stopped
mid-job, then run again to the end by the next worker, the partial file never offered."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from noisebank.exports.models import ExportJob
from noisebank.testing import database_url, make_many_recordings

pytestmark = pytest.mark.usefixtures("transactional_db")

WAIT_S = 60


@pytest.fixture(autouse=True)
def export_root(settings: Any, tmp_path: Path) -> Path:
    settings.EXPORT_ROOT = tmp_path / "exports"
    return Path(settings.EXPORT_ROOT)


class Workers:
    def __init__(self, tmp_path: Path, export_root: Path) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "NOISEBANK_DATA_DIR": str(tmp_path),
            "NOISEBANK_EXPORT_ROOT": str(export_root),
            "NOISEBANK_LOG_LEVEL": "WARNING",
        }
        self.log = tmp_path / "worker.log"
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "noisebank.cli", "worker", "--verbosity", "0"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.started.append(process)
        return process


@pytest.fixture
def workers(tmp_path: Path, export_root: Path) -> Iterator[Workers]:
    w = Workers(tmp_path, export_root)
    try:
        yield w
    finally:
        for process in w.started:
            if process.poll() is None:
                process.terminate()
                process.wait(15)


def wait_for(job_id: str, *statuses: str, rows: int = 0) -> ExportJob:
    deadline = time.monotonic() + WAIT_S
    while True:
        job = ExportJob.objects.get(pk=job_id)
        if job.status in statuses and job.rows_done >= rows:
            return job
        assert time.monotonic() < deadline, f"job still {job.status} ({job.rows_done} rows)"
        time.sleep(0.05)


def test_a_worker_process_picks_up_and_finishes_a_job(
    alice: User, alice_client: Client, workers: Workers
) -> None:
    make_many_recordings(500, collector=alice)
    workers.start()
    response = alice_client.post(
        "/api/v1/exports", {"format": "csv"}, content_type="application/json"
    )
    job = wait_for(response.json()["id"], "done", "failed")
    assert (job.status, job.error) == ("done", "")
    assert job.rows_total == job.rows_done == 500
    download: Any = alice_client.get(f"/api/v1/exports/{job.pk}/download")
    assert b"".join(download.streaming_content).count(b"\r\n") == 501


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_job_whose_worker_is_killed_or_stopped_is_run_again_by_the_next_worker(
    alice: User, alice_client: Client, workers: Workers, export_root: Path, sig: int
) -> None:
    make_many_recordings(20_000, collector=alice)
    first = workers.start()
    response = alice_client.post(
        "/api/v1/exports", {"format": "xlsx", "columns": "all"}, content_type="application/json"
    )
    job_id = response.json()["id"]
    job = wait_for(job_id, "running", rows=1)  # part of the file is written
    assert job.worker_id
    partials = list((export_root / "jobs").glob("*.part"))
    assert len(partials) == 1
    first.send_signal(sig)
    assert first.wait(WAIT_S) == (0 if sig == signal.SIGTERM else -sig)
    job = ExportJob.objects.get(pk=job_id)
    if sig == signal.SIGTERM:  # handed back as the worker left
        assert (job.status, job.worker_id) == ("queued", "") and not partials[0].exists()
    assert alice_client.get(f"/api/v1/exports/{job_id}/download").status_code == 409
    assert alice_client.get(f"/api/v1/exports/{job_id}").json()["download_url"] is None
    workers.start()
    job = wait_for(job_id, "done", "failed")
    assert (job.status, job.error) == ("done", "")
    assert job.rows_total == job.rows_done == 20_000
    assert list((export_root / "jobs").glob("*.part")) == []
    download: Any = alice_client.get(f"/api/v1/exports/{job_id}/download")
    body = b"".join(download.streaming_content)
    assert (len(body), hashlib.sha256(body).hexdigest()) == (job.bytes, job.sha256)
    assert body[:2] == b"PK"  # an XLSX (zip) file, whole


def test_the_export_lane_takes_export_jobs_only(alice: User, alice_client: Client) -> None:
    """The worker's export loop runs jobs while its main loop may be busy measuring."""
    from django_tasks_db.models import DBTaskResult

    from noisebank.exports.tasks import ExportLane
    from noisebank.ingest.tasks import process_recording

    make_many_recordings(50, collector=alice)
    other = process_recording.enqueue(0)  # the main loop's kind of task
    with ExportLane("test-lane", interval=0.05):
        response = alice_client.post(
            "/api/v1/exports", {"format": "jsonl"}, content_type="application/json"
        )
        job = wait_for(response.json()["id"], "done", "failed")
    assert (job.status, job.rows_total) == ("done", 50)
    assert DBTaskResult.objects.get(pk=other.id).status == "READY"
