"""What exports hold: accepted recordings unless a reviewer asks for others; the manifest says
which review states an export holds, and the review_state column tells them apart."""

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django_tasks_db.management.commands.db_worker import Worker

from noisebank.accounts.roles import Role, role_group
from noisebank.catalog.models import Recording
from noisebank.exports.models import ExportJob
from noisebank.testing import make_recording

pytestmark = pytest.mark.usefixtures("transactional_db")
Review = Recording.Review


@pytest.fixture(autouse=True)
def export_root(settings: Any, tmp_path: Path) -> Path:
    settings.EXPORT_ROOT = tmp_path / "exports"
    return Path(settings.EXPORT_ROOT)


@pytest.fixture
def mixed(charlie: User) -> dict[str, Recording]:
    return {s: make_recording(collector=charlie, review_state=s) for s in Review.values}


def csv_rows(client: Client, query: str) -> tuple[Any, list[dict[str, str]]]:
    response: Any = client.get(f"/api/v1/recordings/export.csv?{query}")
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode()
    return response, list(csv.DictReader(io.StringIO(text)))


def run_worker() -> None:
    Worker(
        queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id="test-worker", excluded_queue_names=[],
    ).run()  # fmt: skip


def test_rejected_and_unreviewed_recordings_never_appear_in_the_default_export(
    mixed: dict[str, Recording], alice_client: Client, rita_client: Client
) -> None:
    for client in (alice_client, rita_client):  # a reviewer's default is accepted too
        response, rows = csv_rows(client, "columns=noise_id,review_state")
        assert rows == [{"noise_id": mixed["accepted"].noise_id, "review_state": "accepted"}]
        manifest = json.loads(response["X-Noisebank-Manifest"])
        assert manifest["filters"] == {"review": ["accepted"]}
    # The original's batch API for old scripts holds the same.
    results = alice_client.get("/api/export-data/").json()["results"]
    assert [r["noise_id"] for r in results] == [mixed["accepted"].noise_id]


def test_a_reviewer_exports_other_states_and_the_manifest_records_them(
    mixed: dict[str, Recording], alice_client: Client, rita_client: Client
) -> None:
    response, rows = csv_rows(
        rita_client, "columns=noise_id,review_state&review=rejected&review=submitted"
    )
    assert {r["review_state"] for r in rows} == {"submitted", "rejected"}
    manifest = json.loads(response["X-Noisebank-Manifest"])
    assert manifest["filters"] == {"review": ["submitted", "rejected"]}
    refused = alice_client.get("/api/v1/recordings/export.csv?review=rejected")
    assert refused.status_code == 400 and refused.json()["errors"][0]["param"] == "review"


def test_an_export_job_runs_with_its_owners_review_access(
    mixed: dict[str, Recording], rita: User, rita_client: Client, alice_client: Client
) -> None:
    body = {"format": "csv", "filters": {"review": "submitted"}, "columns": "noise_id"}
    refused = alice_client.post("/api/v1/exports", body, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["param"] == "review"

    done = rita_client.post("/api/v1/exports", body, content_type="application/json").json()
    run_worker()
    job = rita_client.get(f"/api/v1/exports/{done['id']}").json()
    assert job["status"] == "done" and job["rows_total"] == 1
    assert job["manifest"]["filters"] == {"review": ["submitted"]}

    # Queued by a reviewer who is no longer one when the worker gets to it: not exported.
    again = {**body, "columns": ["noise_id", "name"]}
    queued = rita_client.post("/api/v1/exports", again, content_type="application/json").json()
    rita.groups.set([role_group(Role.RESEARCHER)])
    run_worker()
    failed = ExportJob.objects.get(pk=queued["id"])
    assert failed.status == "failed" and "review=submitted" in failed.error
    assert not failed.file_name


def test_the_command_line_may_export_every_state(
    mixed: dict[str, Recording], tmp_path: Path
) -> None:
    out = tmp_path / "all.csv"
    call_command(
        "export", "--columns", "noise_id", "--filter", "review=all", "-o", str(out),
        stderr=io.StringIO(),
    )  # fmt: skip
    assert len(out.read_text().splitlines()) == 1 + len(Review.values)
    call_command("export", "--columns", "noise_id", "-o", str(out), stderr=io.StringIO())
    assert out.read_text().splitlines()[1:] == [mixed["accepted"].noise_id]
