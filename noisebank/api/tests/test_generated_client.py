"""A client generated from the served schema by openapi-python-client works with no hand edits:
typed objects end to end, with a bearer token."""

import importlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from noisebank.api.tests.conftest import LiveApi
from noisebank.ops.tests.servers import on_postgres

pytestmark = pytest.mark.skipif(
    on_postgres(), reason="runs once, on SQLite, beside the contract test"
)


def generate(live_api: LiveApi, folder: Path) -> Any:
    request = urllib.request.Request(
        f"{live_api.url}/api/v1/openapi.json", headers=live_api.headers
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        (folder / "openapi.json").write_bytes(response.read())
    tool = Path(sys.executable).parent / "openapi-python-client"
    # The generator formats its output with ruff, which lives beside it in the venv.
    env = {**os.environ, "PATH": f"{tool.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(tool), "generate", "--path", "openapi.json", "--output-path", "nb_client",
         "--meta", "none"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("nb_client")
    finally:
        sys.path.remove(str(folder))


def test_a_generated_client_lists_reads_and_exports_with_typed_objects(
    live_api: LiveApi, tmp_path: Path
) -> None:
    nb = generate(live_api, tmp_path)
    from nb_client.api.exports import create_export, download_export, get_export
    from nb_client.api.recordings import get_recording, list_recordings
    from nb_client.models import (
        CreateExportCsvExport,
        CreateExportCsvExportFilters,
        CreateExportCsvExportOptions,
        ExportJobOut,
        Levels,
        RecordingDetail,
        RecordingPage,
    )
    from nb_client.models import (
        CreateExportCsvExportColumnsType1Item as Column,
    )

    client = nb.AuthenticatedClient(base_url=live_api.url, token=live_api.token)
    page = list_recordings.sync(client=client, class_=["Horn"], laeq_min=0.0, size=5)
    assert isinstance(page, RecordingPage)
    assert 0 < len(page.results) <= 5 and page.count >= len(page.results)
    assert all(row.class_ == "Horn" for row in page.results)

    detail = get_recording.sync(client=client, noise_id=page.results[0].noise_id)
    assert isinstance(detail, RecordingDetail) and isinstance(detail.levels, Levels)
    assert isinstance(detail.levels.laeq, float) and detail.levels.laeq >= 0.0

    body = CreateExportCsvExport(
        format_="csv",
        filters=CreateExportCsvExportFilters(class_="Horn"),
        columns=[Column("noise_id"), Column("laeq")],
        options=CreateExportCsvExportOptions(bom=False),
    )
    job = create_export.sync(client=client, body=body)
    assert isinstance(job, ExportJobOut), job
    deadline = time.monotonic() + 60
    while job.status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = get_export.sync(client=client, job_id=job.id)
        assert isinstance(job, ExportJobOut)
    assert job.status == "done" and job.rows_total == page.count
    file = download_export.sync_detailed(client=client, job_id=job.id)
    assert file.status_code == 200
    lines = file.content.decode().splitlines()
    assert lines[0] == "noise_id,laeq" and len(lines) == page.count + 1
    assert json.loads(json.dumps(job.manifest.to_dict()))["row_count"] == page.count
