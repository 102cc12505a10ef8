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

import psycopg
import pytest

from noisebank.ops.tests.servers import (
    Browser,
    WebBehindNginx,
    base_env,
    nginx_binary,
    on_postgres,
    seeded_database,
    shared_tmpdir,
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


@pytest.fixture(scope="module")
def million() -> Iterator[tuple[WebBehindNginx, str]]:
    if not on_postgres():
        pytest.skip(
            "a million rows through nginx runs on PostgreSQL, as in production "
            "(seeded by COPY; SQLite would take minutes more): in the PostgreSQL pass"
        )
    folder = shared_tmpdir("noisebank-million-")
    try:
        with seeded_database("million", folder, count=ROWS, password=PASSWORD) as database_url:
            env = base_env(folder / "data", DATABASE_URL=database_url, NOISEBANK_LOG_FORMAT="json")
            with web_behind_nginx(folder, env) as stack:
                yield stack, database_url
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
    million: tuple[WebBehindNginx, str],
) -> None:
    stack, database_url = million
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
