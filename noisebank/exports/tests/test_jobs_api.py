"""Export jobs through /api/v1/exports, run by the real django-tasks-db worker loop.

The job's file is written by the worker through its own snapshot connection, so these tests
commit their data (transactional_db) and run the same on SQLite and PostgreSQL.
"""

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker

from noisebank.catalog import models as m
from noisebank.exports import jobs
from noisebank.exports.models import ExportJob
from noisebank.testing import make_many_recordings, make_recording

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture(autouse=True)
def export_root(settings: Any, tmp_path: Path) -> Path:
    settings.EXPORT_ROOT = tmp_path / "exports"
    return Path(settings.EXPORT_ROOT)


def run_worker() -> None:
    """The real worker loop, in this process: every ready task, then return."""
    Worker(
        queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id="test-worker", excluded_queue_names=[],
    ).run()  # fmt: skip


def post(client: Client, body: Any) -> Any:
    return client.post("/api/v1/exports", body, content_type="application/json")


def get(client: Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/exports/{job_id}")
    assert response.status_code == 200, response.content
    return dict(response.json())


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def catalogue(alice: User) -> list[m.Recording]:
    horns = [
        make_recording(collector=alice, category="Horn", sound_class="Two-tone") for _ in range(3)
    ]
    trains = [make_recording(collector=alice) for _ in range(4)]
    return horns + trains


def exported(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    response = post(client, body)
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "queued"
    assert job["download_url"] is None
    run_worker()
    return get(client, job["id"])


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "geojson"])
def test_job_file_equals_the_direct_download_of_the_same_filters(
    alice_client: Client, catalogue: list[m.Recording], fmt: str
) -> None:
    job = exported(
        alice_client,
        {"format": fmt, "filters": {"category": "Horn"}, "columns": ["noise_id", "name", "laeq"]},
    )
    assert job["status"] == "done"
    assert job["rows_total"] == job["rows_done"] == 3
    assert job["error"] is None
    file = alice_client.get(job["download_url"])
    assert file.status_code == 200
    content = body_of(file)
    assert int(file["Content-Length"]) == len(content) == job["bytes"]
    direct = alice_client.get(
        f"/api/v1/recordings/export.{fmt}?category=Horn&columns=noise_id,name,laeq"
    )
    assert content == body_of(direct)
    assert job["manifest"]["row_count"] == 3
    assert job["manifest"]["filters"] == {"category": ["Horn"], "review": ["accepted"]}
    import hashlib

    assert job["sha256"] == job["manifest"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert file["Content-Disposition"].startswith('attachment; filename="noisebank-recordings-')


def test_filters_are_an_object_with_lists_for_repeated_ones(
    alice_client: Client, catalogue: list[m.Recording]
) -> None:
    job = exported(
        alice_client,
        {
            "format": "csv",
            "filters": {"class": ["Two-tone", "Freight train"]},
            "columns": "summary",
        },
    )
    assert job["rows_total"] == 7
    assert job["filters"] == [["class", "Two-tone"], ["class", "Freight train"]]
    typed = exported(alice_client, {"format": "csv", "filters": {"laeq_min": 0, "laeq_max": 200}})
    assert typed["filters"] == [["laeq_min", "0"], ["laeq_max", "200"]]


def test_a_job_with_the_new_filters_holds_what_the_list_shows(
    alice_client: Client, catalogue: list[m.Recording]
) -> None:
    m.Recording.objects.filter(pk=catalogue[0].pk).update(
        latitude=5.5, longitude=-0.25, audio="audio/a.wav", calibration_offset_db=100.0
    )
    m.Recording.objects.filter(pk__in=[r.pk for r in catalogue[1:3]]).update(
        latitude=6.0, longitude=0.0, audio="audio/b.wav"
    )
    ids = [r.noise_id for r in catalogue]
    filters = {
        "bbox": [-0.25, 5.5, 0, 6.0],  # a list in JSON: west, south, east, north; edges included
        "has_audio": "yes",
        "unit": ["dB SPL"],
        "calibrated": "no",
        "noise_id": [f"{ids[0]},{ids[1]}", ids[2], ids[3]],
    }
    job = exported(alice_client, {"format": "csv", "filters": filters, "columns": ["noise_id"]})
    assert job["status"] == "done"
    listed = alice_client.get(
        "/api/v1/recordings",
        {"bbox": "-0.25,5.5,0,6", "has_audio": "yes", "unit": "dB SPL", "calibrated": "no",
         "noise_id": [f"{ids[0]},{ids[1]}", ids[2], ids[3]], "columns": "noise_id"},
    ).json()  # fmt: skip
    rows = body_of(alice_client.get(job["download_url"])).decode().splitlines()[1:]
    assert sorted(rows) == sorted(r["noise_id"] for r in listed["results"]) == sorted(ids[1:3])
    assert job["rows_total"] == listed["count"] == 2
    assert job["manifest"]["filters"] == {
        "has_audio": "yes",
        "unit": ["dB SPL"],
        "calibrated": "no",
        "bbox": "-0.25,5.5,0,6.0",
        "noise_id": [f"{ids[0]},{ids[1]}", ids[2], ids[3]],
        "review": ["accepted"],
    }


def test_a_box_across_the_antimeridian_is_refused_with_a_reason(
    alice_client: Client, catalogue: list[m.Recording]
) -> None:
    response = post(alice_client, {"format": "csv", "filters": {"bbox": [170, -20, -170, -10]}})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["param"] == "bbox"
    assert "a box across the antimeridian (180°) is not supported" in error["message"]
    response = post(alice_client, {"format": "csv", "filters": {"bbox": [1, 2, "x", 4]}})
    message = "bbox: a list of four numbers, or text."
    assert response.json()["errors"] == [{"param": "bbox", "message": message}]
    assert not ExportJob.objects.exists()


def test_a_download_resumes_with_range(alice_client: Client, catalogue: list[m.Recording]) -> None:
    job = exported(alice_client, {"format": "csv", "columns": "all"})
    whole = body_of(alice_client.get(job["download_url"]))
    part = alice_client.get(job["download_url"], HTTP_RANGE="bytes=100-")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-{len(whole) - 1}/{len(whole)}"
    assert int(part["Content-Length"]) == len(whole) - 100
    assert whole[:100] + body_of(part) == whole


def test_progress_rises_to_the_total(
    alice: User, alice_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_many_recordings(3_000, collector=alice)
    monkeypatch.setattr(jobs, "PROGRESS_SECONDS", 0)  # save at every chunk
    job_id = post(alice_client, {"format": "xlsx", "columns": "all"}).json()["id"]
    seen: list[tuple[str, int]] = []
    done = threading.Event()

    def watch() -> None:
        try:
            while not done.is_set():
                job = ExportJob.objects.get(pk=job_id)
                seen.append((job.status, job.rows_done))
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run_worker()
    finally:
        done.set()
        watcher.join()
    counts = [n for _, n in seen]
    assert counts == sorted(counts)
    final = get(alice_client, job_id)
    assert final["status"] == "done"
    assert final["rows_done"] == final["rows_total"] == 3_000
    assert final["rate"] > 0


def test_cancel_stops_a_running_job_and_removes_its_temporary_file(
    alice: User, alice_client: Client, export_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_many_recordings(4_000, collector=alice)
    monkeypatch.setattr(jobs, "PROGRESS_SECONDS", 0)
    job_id = post(alice_client, {"format": "xlsx", "columns": "all"}).json()["id"]

    def work() -> None:
        try:
            run_worker()
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        while True:  # until the worker has written some rows
            job = ExportJob.objects.get(pk=job_id)
            assert job.status in ("queued", "running"), job.error
            if job.rows_done:
                break
        response = alice_client.post(f"/api/v1/exports/{job_id}/cancel")
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
    finally:
        worker.join()
    job = ExportJob.objects.get(pk=job_id)
    assert job.status == "cancelled"
    assert job.rows_done < 4_000
    assert job.file_name == ""
    assert list((export_root / "jobs").iterdir()) == []
    assert alice_client.get(f"/api/v1/exports/{job_id}/download").status_code == 409


def test_a_queued_job_says_whether_a_worker_is_alive(
    alice_client: Client, catalogue: list[m.Recording]
) -> None:
    from noisebank.ops.heartbeat import beat

    job_id = post(alice_client, {"format": "csv"}).json()["id"]
    assert get(alice_client, job_id)["workers"] == 0
    beat("vm-1-abcdef")
    assert get(alice_client, job_id)["workers"] == 1
    run_worker()
    assert "workers" not in get(alice_client, job_id)


def test_a_cancelled_queued_job_never_runs(
    alice_client: Client, catalogue: list[m.Recording]
) -> None:
    job_id = post(alice_client, {"format": "csv"}).json()["id"]
    assert alice_client.post(f"/api/v1/exports/{job_id}/cancel").json()["status"] == "cancelled"
    run_worker()
    job = get(alice_client, job_id)
    assert job["status"] == "cancelled"
    assert job["rows_done"] == 0
    again = alice_client.post(f"/api/v1/exports/{job_id}/cancel")
    assert again.status_code == 200  # cancelling twice is harmless
    assert exported(alice_client, {"format": "csv"})["status"] == "done"


def test_the_same_export_on_unchanged_data_reuses_the_file(
    alice: User, alice_client: Client, bob_client: Client, catalogue: list[m.Recording]
) -> None:
    spec = {"format": "csv", "filters": {"category": "Horn"}, "columns": "default"}
    first = exported(alice_client, spec)
    again = post(bob_client, spec)
    assert again.status_code == 201
    reused = again.json()
    assert reused["id"] != first["id"]
    assert reused["status"] == "done"
    assert reused["sha256"] == first["sha256"]
    assert body_of(bob_client.get(reused["download_url"])) == body_of(
        alice_client.get(first["download_url"])
    )
    make_recording(collector=alice, category="Horn", sound_class="Two-tone")  # data changed
    fresh = exported(alice_client, spec)
    assert fresh["rows_total"] == 4
    assert fresh["sha256"] != first["sha256"]


def test_a_double_click_creates_one_job(alice_client: Client, catalogue: list[m.Recording]) -> None:
    spec = {"format": "parquet", "filters": {"category": ["Horn"]}, "columns": "acoustics"}
    first = post(alice_client, spec)
    second = post(alice_client, spec)
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert ExportJob.objects.count() == 1


def test_a_failure_is_recorded_in_words_and_leaves_no_file(
    alice_client: Client, catalogue: list[m.Recording], settings: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.EXPORT_ROOT = blocker  # the worker cannot create its folder
    job = exported(alice_client, {"format": "csv"})
    assert job["status"] == "failed"
    assert job["error"].startswith("The file could not be written")
    assert job["download_url"] is None
    assert alice_client.get(f"/api/v1/exports/{job['id']}/download").status_code == 409


def test_a_job_whose_worker_died_is_failed_and_its_partial_file_never_offered(
    alice: User, alice_client: Client, export_root: Path
) -> None:
    job = ExportJob.objects.create(
        owner=alice, format="csv", status="running", rows_total=10, rows_done=4,
        started_at=timezone.now() - timedelta(minutes=5),
        heartbeat_at=timezone.now() - timedelta(minutes=2), fingerprint="x",
    )  # fmt: skip
    partial = export_root / "jobs" / f"{job.pk}.csv.part"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"noise_id\r\nNSE-1\r\n")
    body = get(alice_client, str(job.pk))
    assert body["status"] == "failed"
    assert "worker" in body["error"]
    assert body["download_url"] is None
    assert not partial.exists()
    assert alice_client.get(f"/api/v1/exports/{job.pk}/download").status_code == 409


def test_a_queued_job_whose_task_ended_without_it_is_failed(
    alice_client: Client, catalogue: list[m.Recording]
) -> None:
    from django_tasks_db.models import DBTaskResult

    spec = {"format": "csv"}
    job = post(alice_client, spec).json()
    task_id = ExportJob.objects.get(pk=job["id"]).task_id
    DBTaskResult.objects.filter(pk=task_id).update(status="FAILED")  # e.g. it could not import
    body = get(alice_client, job["id"])
    assert body["status"] == "failed"
    assert "Run the export again" in body["error"]
    again = post(alice_client, spec)  # not handed back the dead job
    assert again.status_code == 202
    assert again.json()["id"] != job["id"]


def test_a_worker_coming_back_fails_the_jobs_of_its_dead_predecessor(
    alice: User, export_root: Path
) -> None:
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    job = ExportJob.objects.create(
        owner=alice, format="csv", status="running", started_at=timezone.now(),
        heartbeat_at=timezone.now(), fingerprint="x",
        worker_id=f"{jobs._HOST}-{gone.stdout.strip()}-abcdef",
    )  # fmt: skip
    fresh = ExportJob.objects.create(
        owner=alice, format="csv", status="running", started_at=timezone.now(),
        heartbeat_at=timezone.now(), fingerprint="y", worker_id="elsewhere-1-abcdef",
    )  # fmt: skip
    assert jobs.exports_cleanup().stale == 1  # what `noisebank worker` runs as it starts
    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.status == "failed"
    assert fresh.status == "running"


def test_permissions(
    alice_client: Client,
    bob_client: Client,
    charlie_client: Client,
    admin_client: Client,
    catalogue: list[m.Recording],
) -> None:
    job = exported(alice_client, {"format": "csv"})
    url = f"/api/v1/exports/{job['id']}"
    assert post(charlie_client, {"format": "csv"}).status_code == 403
    assert charlie_client.get("/api/v1/exports").status_code == 403
    assert charlie_client.get(url).status_code == 403
    for path in (url, f"{url}/download"):
        assert bob_client.get(path).status_code == 404
    assert bob_client.post(f"{url}/cancel").status_code == 404
    assert bob_client.get("/api/v1/exports").json()["results"] == []
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(f"{url}/download").status_code == 200
    listed = admin_client.get("/api/v1/exports").json()["results"]
    assert [(j["id"], j["owner"]) for j in listed] == [(job["id"], "alice")]
    assert admin_client.get("/api/v1/exports?mine=1").json()["results"] == []
    assert Client().get(url).status_code in (401, 302)


def test_the_list_finds_the_newest_unfinished_job(
    alice_client: Client, catalogue: list[m.Recording]
) -> None:
    done = exported(alice_client, {"format": "csv"})
    queued = post(alice_client, {"format": "jsonl"}).json()
    unfinished = alice_client.get("/api/v1/exports?mine=1&status=queued,running&size=1").json()
    assert [j["id"] for j in unfinished["results"]] == [queued["id"]]
    everything = alice_client.get("/api/v1/exports").json()["results"]
    assert [j["id"] for j in everything] == [queued["id"], done["id"]]
    blank = alice_client.get("/api/v1/exports?size=%20").json()["results"]  # blank: not given
    assert [j["id"] for j in blank] == [queued["id"], done["id"]]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"format": "docx"}, "format"),
        ({"format": 7}, "format"),
        ({"columns": "default"}, "format"),
        ({"format": "csv", "columns": ["noise_id", "nope"]}, "columns"),
        ({"format": "csv", "columns": ""}, "columns"),
        ({"format": "csv", "columns": {"a": 1}}, "columns"),
        ({"format": "csv", "filters": {"laeq_min": "loud"}}, "laeq_min"),
        ({"format": "csv", "filters": {"laeq_min": "80"}}, "filters.laeq_min"),
        ({"format": "csv", "filters": {"laeq_min": 1e23}}, "laeq_min"),
        ({"format": "csv", "filters": {"category": "No such category"}}, "category"),
        ({"format": "csv", "filters": {"colour": "red"}}, "colour"),
        ({"format": "csv", "filters": {"recorded_from": "2026-02-30"}}, "recorded_from"),
        ({"format": "csv", "filters": {"q": {"nested": True}}}, "q"),
        ({"format": "csv", "filters": 12}, "filters"),
        ({"format": "csv", "filters": "category=Horn"}, "filters"),
        ({"format": "csv", "filters": [["q"]]}, "filters"),
        ({"format": "csv", "options": {"bom": "maybe"}}, "bom"),
        ({"format": "csv", "options": {"bom": "yes"}}, "options.bom"),
        ({"format": "csv", "options": {"colour": 1}}, "options.colour"),
        ({"format": "csv", "options": []}, "options"),
        ({"format": "xlsx", "options": {"bom": True}}, "options"),
        (
            {"format": "zip", "options": {"folder_template": "{nope}/{noise_id}.{ext}"}},
            "folder_template",
        ),
        ({"format": "csv", "surprise": 1}, "surprise"),
        ([1, 2], "body"),
    ],
)
def test_bad_requests_name_the_parameter(
    alice_client: Client, catalogue: list[m.Recording], body: Any, param: str
) -> None:
    response = post(alice_client, body)
    assert response.status_code == 400, response.content
    assert param in [e["param"] for e in response.json()["errors"]]
    assert ExportJob.objects.count() == 0


def test_other_bad_input_is_never_a_server_error(alice_client: Client) -> None:
    bad = alice_client.post("/api/v1/exports", b"{not json", content_type="application/json")
    assert bad.status_code == 400
    latin = alice_client.post("/api/v1/exports", b"\xff\xfe", content_type="application/json")
    assert latin.status_code == 400
    for path in ("/api/v1/exports/not-a-uuid", "/api/v1/exports/1/download"):
        assert alice_client.get(path).status_code == 404
    assert alice_client.post("/api/v1/exports/zzz/cancel").status_code == 404
    for query in ("status=lost", "size=0", "size=x", "colour=red"):
        assert alice_client.get(f"/api/v1/exports?{query}").status_code == 400


def test_a_long_job_emails_its_owner_the_link(
    alice_client: Client, catalogue: list[m.Recording], settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NOISEBANK_BASE_URL = "https://noise.example.org"
    quick = exported(alice_client, {"format": "csv", "columns": "metadata"})
    assert quick["status"] == "done"
    assert mail.outbox == []
    job_id = post(alice_client, {"format": "csv"}).json()["id"]
    # Clicked 40 s ago: the owner has waited longer than 30 s by the time the file is ready.
    ExportJob.objects.filter(pk=job_id).update(created_at=timezone.now() - timedelta(seconds=40))
    run_worker()
    assert get(alice_client, job_id)["status"] == "done"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.org"]
    assert f"https://noise.example.org/api/v1/exports/{job_id}/download" in message.body
    assert "https://noise.example.org/exports/" in message.body


def test_a_job_with_a_bom_protects_formulas_unless_told_not_to(alice_client: Client) -> None:
    make_recording(name="=1+1")
    protected = exported(
        alice_client, {"format": "csv", "columns": "name", "options": {"bom": True}}
    )
    exact = exported(
        alice_client,
        {"format": "csv", "columns": "name", "options": {"bom": True, "excel_safe": False}},
    )
    assert protected["manifest"]["options"] == {"bom": True, "excel_safe": True}
    assert exact["manifest"]["options"] == {"bom": True, "excel_safe": False}
    files = [body_of(alice_client.get(j["download_url"])) for j in (protected, exact)]
    assert files == [b"\xef\xbb\xbfname\r\n'=1+1\r\n", b"\xef\xbb\xbfname\r\n=1+1\r\n"]


def test_excel_safe_for_a_format_without_csv_is_refused_naming_the_option(
    alice_client: Client,
) -> None:
    response = post(alice_client, {"format": "parquet", "options": {"excel_safe": True}})
    assert response.status_code == 400
    assert [e["param"] for e in response.json()["errors"]] == ["options.excel_safe"]
