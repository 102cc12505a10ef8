"""A million-row CSV export through the real nginx, with its default 60 s proxy_read_timeout.

The original raised every timeout to 300 s and still answered 504 for large exports: it built
the whole file before sending a byte. Ours streams from one snapshot, so nginx's timeout (the
longest gap between two reads of the upstream, not a limit on the whole response) never fires.

The million recordings are seeded once into a template database kept on the PostgreSQL server
between runs (servers.seeded_database); each run copies it in seconds.
"""

import csv
import hashlib
import io
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from noisebank.ops.tests.servers import (
    Browser,
    Process,
    WebBehindNginx,
    base_env,
    nginx_binary,
    on_postgres,
    run,
    seeded_database,
    shared_tmpdir,
    start_noisebank,
    wait_until,
    web_behind_nginx,
)

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.skipif(
        nginx_binary() is None,
        reason="nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)",
    ),
]

ROWS = 1_000_000
PASSWORD = "million-test-pw"


@dataclass
class Million:
    stack: WebBehindNginx
    database_url: str
    env: dict[str, str]
    data: Path
    worker: Process


@pytest.fixture(scope="module")
def million() -> Iterator[Million]:
    if not on_postgres():
        pytest.skip(
            "a million rows through nginx runs on PostgreSQL, as in production "
            "(seeded by COPY; SQLite would take minutes more): in the PostgreSQL pass"
        )
    folder = shared_tmpdir("noisebank-million-")
    try:
        with seeded_database("million", folder, count=ROWS, password=PASSWORD) as database_url:
            env = base_env(
                folder / "data",
                DATABASE_URL=database_url,
                DJANGO_SETTINGS_MODULE="noisebank.ops.tests.stack_site",
                NOISEBANK_X_ACCEL_REDIRECT="1",
                NOISEBANK_LOG_FORMAT="json",
            )
            worker = start_noisebank("worker", ["worker"], env, folder / "logs")
            try:
                with web_behind_nginx(folder, env) as stack:
                    yield Million(stack, database_url, env, folder / "data", worker)
            finally:
                worker.stop()
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=True)


def noise_ids_digest(database_url: str) -> tuple[int, str]:
    """The recordings' noise ids in id order (the export's order), counted and hashed."""
    digest, count = hashlib.sha256(), 0
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        for (noise_id,) in cur.stream("SELECT noise_id FROM catalog_recording ORDER BY id"):
            digest.update(noise_id.encode() + b"\n")
            count += 1
    return count, digest.hexdigest()


def test_a_million_row_csv_export_streams_through_nginx_whole(
    million: Million,
) -> None:
    stack, database_url = million.stack, million.database_url
    browser = Browser(stack.url)
    browser.log_in("researcher", PASSWORD)
    # The socket timeout equals nginx's proxy_read_timeout: no gap in the stream may be longer.
    response = browser.open("/api/v1/recordings/export.csv", timeout=60)
    assert response.status == 200, response.read()[:2000]
    assert response.headers["Content-Type"].startswith("text/csv")
    announced = int(response.headers["X-Row-Count"])

    text = io.TextIOWrapper(response, encoding="utf-8", newline="")
    records = csv.reader(text)
    header = next(records)
    noise_id = header.index("noise_id")
    digest, rows, widths = hashlib.sha256(), 0, set()
    for record in records:
        digest.update(record[noise_id].encode() + b"\n")
        widths.add(len(record))
        rows += 1

    assert announced == rows == ROWS  # every row, and the count the header promised
    assert widths == {len(header)}  # no row cut short
    assert (rows, digest.hexdigest()) == noise_ids_digest(database_url)  # the same ids, in order
    log = (stack.folder / "nginx" / "access.log").read_text().splitlines()
    (served,) = [e for e in map(json.loads, log) if e["uri"].startswith("/api/v1/recordings/")]
    assert served["status"] == 200 and served["bytes_sent"] > 0
    errors = (stack.folder / "nginx" / "error.log").read_text()
    assert "timed out" not in errors and "buffered to a temporary file" not in errors


def test_an_export_file_resumes_with_a_range_through_nginx_and_matches_its_manifest(
    million: Million,
) -> None:
    """A finished export (the CLI's, with its manifest) is sent by nginx through X-Accel-Redirect
    after the app's login check; a download cut off part way resumes with Range, and the
    joined bytes have the manifest's sha256."""
    exports = million.data / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    name = "loud recordings.csv"
    manifest_file = million.data / "manifest.json"
    run(
        [
            "export",
            "--filter",
            "laeq_min=100",  # about 2 % of the million: a file of some megabytes
            "-o",
            str(exports / name),
            "--manifest",
            str(manifest_file),
        ],
        million.env,
    )
    # The CLI writes through mkstemp, private to its user; nginx here runs as another user.
    (exports / name).chmod(0o644)
    manifest = json.loads(manifest_file.read_text())
    size = (exports / name).stat().st_size
    assert manifest["row_count"] > 1000 and manifest["size"] == size

    browser = Browser(million.stack.url)
    browser.log_in("researcher", PASSWORD)
    path = "/_test/files/exports/loud%20recordings.csv"
    first = browser.open(path)
    assert first.status == 200 and first.headers["Content-Length"] == str(size)
    assert "X-Accel-Redirect" not in first.headers  # nginx acted on it and sent the file itself
    received = first.read(size // 3)  # … and the connection drops
    first.close()
    rest = browser.open(path, headers={"Range": f"bytes={len(received)}-"})
    assert rest.status == 206
    assert rest.headers["Content-Range"] == f"bytes {len(received)}-{size - 1}/{size}"
    whole = received + rest.read()
    assert hashlib.sha256(whole).hexdigest() == manifest["sha256"]
    assert whole.count(b"\r\n") >= manifest["row_count"] + 1
    assert Browser(million.stack.url).open(path).status == 302  # anonymous: to the login page


def test_a_finished_export_job_resumes_with_a_range_through_nginx_and_matches_its_manifest(
    million: Million,
) -> None:
    """POST /api/v1/exports, the stack's worker writes the file, and its download, sent by nginx
    through X-Accel-Redirect, is cut off part way and resumed with Range: the joined bytes have
    the sha256 of the job's manifest."""
    browser = Browser(million.stack.url)
    browser.log_in("researcher", PASSWORD)
    created = browser.open(
        "/api/v1/exports",
        data=json.dumps({"format": "csv", "filters": {"laeq_min": 100}}).encode(),
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": browser.cookie("csrftoken") or "",
        },
    )
    assert created.status in (201, 202), created.read()[:2000]
    job_url = created.headers["Location"]

    def job() -> dict[str, Any]:
        return dict(json.loads(browser.open(job_url).read()))

    wait_until(
        lambda: job()["status"] in ("done", "failed"),
        "the worker to finish the export job",
        [million.worker, million.stack.web],
        timeout=300,
    )
    finished = job()
    assert finished["status"] == "done", finished
    manifest, size = finished["manifest"], finished["bytes"]
    assert manifest["sha256"] == finished["sha256"] and manifest["row_count"] > 1000

    first = browser.open(finished["download_url"])
    assert first.status == 200 and first.headers["Content-Length"] == str(size)
    assert "X-Accel-Redirect" not in first.headers  # nginx acted on it and sent the file itself
    received = first.read(size // 3)  # … and the connection drops
    first.close()
    rest = browser.open(finished["download_url"], headers={"Range": f"bytes={len(received)}-"})
    assert rest.status == 206
    assert rest.headers["Content-Range"] == f"bytes {len(received)}-{size - 1}/{size}"
    whole = received + rest.read()
    assert hashlib.sha256(whole).hexdigest() == manifest["sha256"]
    access = (million.stack.folder / "nginx" / "access.log").read_text().splitlines()
    downloads = [e for e in map(json.loads, access) if e["uri"] == finished["download_url"]]
    assert [e["status"] for e in downloads] == [200, 206]
    assert Browser(million.stack.url).open(finished["download_url"]).status in (401, 403)
