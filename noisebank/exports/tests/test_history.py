"""/exports/ (the history page: re-run, delete), the export panel, TTL and the cleanup."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone

from noisebank.catalog import models as m
from noisebank.exports.columns import PRESETS
from noisebank.exports.models import ExportJob
from noisebank.exports.tests.test_jobs_api import body_of, exported, post, run_worker
from noisebank.testing import make_recording

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture(autouse=True)
def export_root(settings: Any, tmp_path: Path) -> Path:
    settings.EXPORT_ROOT = tmp_path / "exports"
    return Path(settings.EXPORT_ROOT)


@pytest.fixture
def catalogue(alice: User) -> list[m.Recording]:
    return [make_recording(collector=alice, category="Horn", sound_class="Two-tone")] + [
        make_recording(collector=alice) for _ in range(2)
    ]


def history_ids(client: Client) -> list[str]:
    response = client.get("/exports/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<table class="data" id="export-history">' in html
    return [part.split('"', 1)[0] for part in html.split('data-job-id="')[1:]]


def test_history_lists_own_jobs_and_an_admin_sees_all(
    alice_client: Client, bob_client: Client, admin_client: Client, catalogue: list[m.Recording]
) -> None:
    a = exported(alice_client, {"format": "csv", "filters": {"category": "Horn"}})
    b = exported(bob_client, {"format": "jsonl"})
    assert history_ids(alice_client) == [a["id"]]
    assert history_ids(bob_client) == [b["id"]]
    assert history_ids(admin_client) == [b["id"], a["id"]]
    page = alice_client.get("/exports/").content.decode()
    assert "category: Horn" in page
    assert f"/api/v1/exports/{a['id']}/download" in page


def test_collectors_have_no_history(charlie_client: Client) -> None:
    assert charlie_client.get("/exports/").status_code == 403


def test_rerun_creates_a_new_job_with_the_same_spec(
    alice: User, alice_client: Client, catalogue: list[m.Recording]
) -> None:
    first = exported(alice_client, {"format": "csv", "filters": {"category": "Horn"}})
    make_recording(collector=alice, category="Horn", sound_class="Two-tone")
    response = alice_client.post(f"/exports/{first['id']}/rerun/")
    assert response.status_code == 302
    again = ExportJob.objects.exclude(pk=first["id"]).get()
    assert (again.filters, again.columns, again.format) == (
        [["category", "Horn"]],
        PRESETS["default"],
        "csv",
    )
    assert again.status == "queued"
    run_worker()
    again.refresh_from_db()
    assert (again.status, again.rows_total) == ("done", 2)


def test_someone_elses_job_cannot_be_rerun_or_deleted(
    alice_client: Client, bob_client: Client, catalogue: list[m.Recording]
) -> None:
    job = exported(alice_client, {"format": "csv"})
    assert bob_client.post(f"/exports/{job['id']}/rerun/").status_code == 404
    assert bob_client.post(f"/exports/{job['id']}/delete/").status_code == 404
    assert alice_client.get(f"/exports/{job['id']}/delete/").status_code == 405
    assert ExportJob.objects.count() == 1


def test_delete_keeps_a_file_another_job_reuses(
    alice_client: Client, bob_client: Client, export_root: Path, catalogue: list[m.Recording]
) -> None:
    first = exported(alice_client, {"format": "csv"})
    reused = post(bob_client, {"format": "csv"}).json()
    assert reused["status"] == "done"
    files = list((export_root / "jobs").iterdir())
    assert len(files) == 1
    assert alice_client.post(f"/exports/{first['id']}/delete/").status_code == 302
    assert not ExportJob.objects.filter(pk=first["id"]).exists()
    assert files[0].exists()  # bob's job still points at it
    assert bob_client.get(reused["download_url"]).status_code == 200
    bob_client.post(f"/exports/{reused['id']}/delete/")
    assert not files[0].exists()


def test_expired_files_and_orphans_are_cleaned_up(
    alice_client: Client, export_root: Path, catalogue: list[m.Recording], settings: Any
) -> None:
    old = exported(alice_client, {"format": "csv"})
    fresh = exported(alice_client, {"format": "jsonl"})
    old_file = export_root / ExportJob.objects.get(pk=old["id"]).file_name
    fresh_file = export_root / ExportJob.objects.get(pk=fresh["id"]).file_name
    ExportJob.objects.filter(pk=old["id"]).update(
        finished_at=timezone.now() - timedelta(hours=settings.NOISEBANK_EXPORT_TTL_HOURS, minutes=1)
    )
    orphan = export_root / "jobs" / "0c3a0d5e-0000-4000-8000-000000000000.csv.part"
    orphan.write_bytes(b"half a file")
    stray = export_root / "jobs" / "0c3a0d5e-0000-4000-8000-000000000001.csv"
    stray.write_bytes(b"nobody's")
    call_command("cleanup_exports")
    assert ExportJob.objects.get(pk=old["id"]).status == "expired"
    assert not old_file.exists()
    assert not orphan.exists()
    assert not stray.exists()
    assert fresh_file.exists()
    assert ExportJob.objects.get(pk=fresh["id"]).status == "done"
    gone = alice_client.get(f"/api/v1/exports/{old['id']}/download")
    assert gone.status_code == 410
    assert alice_client.get(f"/api/v1/exports/{old['id']}").json()["download_url"] is None
    # An expired file is not reused: the same export runs again.
    again = post(alice_client, {"format": "csv"})
    assert again.status_code == 202


def test_the_worker_cleans_up_periodically(
    alice_client: Client, catalogue: list[m.Recording], settings: Any
) -> None:
    import time

    from noisebank.exports.tasks import ExportLane

    job = exported(alice_client, {"format": "csv"})
    ExportJob.objects.filter(pk=job["id"]).update(
        finished_at=timezone.now() - timedelta(hours=settings.NOISEBANK_EXPORT_TTL_HOURS + 1)
    )
    with ExportLane("test-lane", interval=0.05, cleanup_seconds=0.05):
        deadline = time.monotonic() + 30
        while ExportJob.objects.get(pk=job["id"]).status != "expired":
            assert time.monotonic() < deadline, "no cleanup ran"
            time.sleep(0.05)


def test_the_panel_offers_formats_presets_and_columns(alice: User) -> None:
    request = RequestFactory().get("/recordings/?category=Horn")
    request.user = alice
    html = render_to_string("exports/_export_panel.html", request=request)
    for needle in (
        '<section id="export-panel"',
        'name="format"',
        '<option value="xlsx">',
        '<option value="custom">',
        'name="columns_preset"',
        'name="bom"',
        'name="folder_template"',
        'id="export-button"',
        '<progress id="export-progress" max="100"',
        'id="export-status" data-status=""',
        'id="export-cancel"',
        'id="export-download"',
        "noisebank/exports.js",
    ):
        assert needle in html, needle
    for preset in ("default", "all", "metadata", "acoustics"):
        assert f'<option value="{preset}" title="' in html
    # The panel opens on the default columns, not all 112: half the cost of the export.
    assert html.index('<option value="default"') < html.index('<option value="all"')
    assert html.count('name="column"') == len(PRESETS["all"])


def test_static_panel_files_are_served(alice_client: Client) -> None:
    for name in ("exports.js", "exports.css"):
        response = alice_client.get(f"/static/noisebank/{name}")
        assert response.status_code == 200
        assert len(body_of(response)) > 500


def test_the_selection_names_taxa_the_form_sent_as_ids(
    alice_client: Client, catalogue: list[m.Recording]
) -> None:
    horn = m.Category.objects.get(name="Horn")
    job = exported(alice_client, {"format": "csv", "filters": {"category": str(horn.pk)}})
    summary = ExportJob.objects.get(pk=job["id"]).filter_summary()
    assert summary == "category: Horn"
    page = alice_client.get("/exports/").content.decode()
    assert "category: Horn" in page
    assert f"category: {horn.pk}" not in page
