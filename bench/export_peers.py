"""The methods bench/export.py compares ours with: the seed's, and Datasette.

The seed's method is the original page's: GET /api/export-data/ in 500-row batches, 5 requests at
a time, JSON assembled in the client, then written as CSV and as XLSX (at 1M rows it stops after a
budget of seconds and extrapolates from the batches it timed, marked ≈).

Datasette streams the same rows as CSV. The bench installs Datasette (pinned below) into a venv
of its own, var/bench/datasette-venv, the first time it is needed (pip reaches the package index
once; later runs reuse the venv), so it never enters Noisebank's dependencies. It copies the rows
of the export's default columns, under the same names, into a table of a SQLite file beside the
bench databases (rebuilt when its row count or its source changes), serves that file with
`datasette serve` and reads `/<db>/recordings.csv?_stream=on&_size=max` over HTTP, as a Datasette
user streams a table. `max_csv_mb` is lifted (0) so Datasette sends every row, as ours does. When
the venv cannot be made or the package not installed, the bench says so and leaves Datasette out.
"""

import csv
import http.client
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.export_http import ROOT, PeakRss, Result, Server, Target, own_cpu_s, say

SEED_BATCH = 500
SEED_PARALLEL = 5


VENV = ROOT / "var" / "bench" / "datasette-venv"
DATASETTE = "datasette==0.65.5"
TABLE = "recordings"


def install() -> Path | None:
    """The datasette executable in the bench's own venv, installed on first use; None if not."""
    exe = VENV / "bin" / "datasette"
    if exe.exists():
        return exe
    say(f"installing {DATASETTE} into {VENV.relative_to(ROOT)} (once) …")
    try:
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run(["python3", "-m", "venv", str(VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
             DATASETTE],
            check=True, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        say(f"Datasette left out: it could not be installed ({detail.strip()[-300:]})")
        shutil.rmtree(VENV, ignore_errors=True)
        return None
    return exe if exe.exists() else None


def _count(path: Path) -> int | None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])
    except sqlite3.Error:
        return None


def build_table(
    path: Path,
    names: list[str],
    sql: str,
    size: int,
    *,
    sqlite_source: Path | None = None,
    pg_url: str | None = None,
) -> None:
    """`path` holds table `recordings`: the rows of `sql` (the export's query, parameters
    inlined) under `names`. Kept while it has `size` rows and is newer than its SQLite source."""
    fresh = sqlite_source is None or (
        path.exists() and path.stat().st_mtime >= sqlite_source.stat().st_mtime
    )
    if fresh and _count(path) == size:
        return
    say(f"copying {size:,} rows into {path.relative_to(ROOT)} for Datasette …")
    path.unlink(missing_ok=True)
    part = path.with_suffix(".part")
    part.unlink(missing_ok=True)
    quoted = ", ".join(f'"{n}"' for n in names)
    with sqlite3.connect(f"file:{part}", uri=True) as conn:
        if sqlite_source is not None:
            conn.execute("ATTACH DATABASE ? AS source", (f"file:{sqlite_source}?mode=ro",))
            aliases = ", ".join(f'c{i} AS "{n}"' for i, n in enumerate(names))
            conn.execute(f"CREATE TABLE {TABLE} AS SELECT {aliases} FROM ({sql})")
        else:
            import psycopg

            conn.execute(f"CREATE TABLE {TABLE} ({quoted})")
            insert = f"INSERT INTO {TABLE} VALUES ({', '.join('?' * len(names))})"
            with psycopg.connect(pg_url or "") as pg, pg.cursor(name="datasette_copy") as cur:
                cur.itersize = 5_000
                cur.execute(sql)
                while rows := cur.fetchmany(5_000):
                    conn.executemany(insert, [tuple(map(_stored, r)) for r in rows])
        conn.commit()
    part.rename(path)


def _stored(value: object) -> object:
    """A value as a SQLite column holds it (times as ISO text, as Django stores them)."""
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ")
    return value


class DatasetteServer:
    def __init__(self, exe: Path, db: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.path = f"/{db.stem}/{TABLE}.csv?_stream=on&_size=max"
        self.process = subprocess.Popen(
            [str(exe), "serve", str(db), "--host", "127.0.0.1", "--port", str(self.port),
             "--setting", "max_csv_mb", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{self.port}/-/versions.json"
                with urllib.request.urlopen(url, timeout=5) as response:
                    self.version = json.loads(response.read())["datasette"]["version"]
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("bench: Datasette did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


def seed_method(server: Server, token: str, size: int, budget: float) -> list[Result]:
    """The original page: batches of 500, 5 at a time, rows kept as dicts, then a file."""
    local = threading.local()

    def fetch(offset: int, total: int | None) -> tuple[dict[str, Any], float]:
        if not hasattr(local, "conn"):
            local.conn = server.connection()
        query = f"batch_size={SEED_BATCH}&offset={offset}" + (f"&total={total}" if total else "")
        started = time.monotonic()
        local.conn.request(
            "GET", f"/api/export-data/?{query}", headers={"Authorization": f"Bearer {token}"}
        )
        response = local.conn.getresponse()
        body = json.loads(response.read())
        if response.status != 200:
            raise SystemExit(f"bench: /api/export-data/ answered {response.status}: {body}")
        return body, time.monotonic() - started

    rows: list[dict[str, Any]] = []
    with PeakRss(server) as rss, ThreadPoolExecutor(SEED_PARALLEL) as pool:
        started = time.monotonic()
        first, _ = fetch(0, None)
        total = first["total"]
        rows += first["results"]
        offsets = list(range(SEED_BATCH, total, SEED_BATCH))
        rounds: list[tuple[int, float]] = []
        estimated = False
        for i in range(0, len(offsets), SEED_PARALLEL):
            batch = offsets[i : i + SEED_PARALLEL]
            round_started = time.monotonic()
            for body, _ in pool.map(lambda o: fetch(o, total), batch):
                rows += body["results"]
            rounds.append((batch[0], time.monotonic() - round_started))
            if time.monotonic() - started > budget and i + SEED_PARALLEL < len(offsets):
                estimated = True
                remaining = offsets[i + SEED_PARALLEL :: SEED_PARALLEL]
                break
        fetch_s = time.monotonic() - started
    if estimated:
        # Round time grows with the offset (OFFSET reads and drops the rows before it):
        # fit time = a + b * offset over the rounds measured and add the rounds not run.
        n = len(rounds)
        mx = sum(o for o, _ in rounds) / n
        my = sum(t for _, t in rounds) / n
        sxx = sum((o - mx) ** 2 for o, _ in rounds) or 1.0
        b = sum((o - mx) * (t - my) for o, t in rounds) / sxx
        a = my - b * mx
        fetch_s += sum(max(a + b * o, 0.0) for o in remaining)
    fetched = len(rows)
    scale = total / fetched if fetched else 1.0

    started, cpu = time.monotonic(), own_cpu_s()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [])
    writer.writeheader()
    writer.writerows(rows)
    csv_s = (time.monotonic() - started) * scale
    csv_cpu = own_cpu_s() - cpu

    import xlsxwriter

    started, cpu = time.monotonic(), own_cpu_s()
    book = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True})
    sheet = book.add_worksheet()
    names = list(rows[0]) if rows else []
    sheet.write_row(0, 0, names)
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, [row[n] for n in names])
    book.close()
    xlsx_s = (time.monotonic() - started) * scale
    xlsx_cpu = own_cpu_s() - cpu
    note = f"≈ from {fetched:,} rows in {budget:.0f} s" if estimated else ""
    as_csv = None if estimated else rss.cpu + csv_cpu
    as_xlsx = None if estimated else rss.cpu + xlsx_cpu
    return [
        Result("seed's method → CSV", fetch_s + csv_s, total, rss.peak, estimated, note, "csv",
               as_csv),
        Result("seed's method → XLSX", fetch_s + xlsx_s, total, rss.peak, estimated, note,
               "xlsx", as_xlsx),
    ]  # fmt: skip


def datasette(server: DatasetteServer, size: int) -> Result:
    """GET the table as CSV, streamed, to the end; the rows are checked up to 100,000."""
    method = f"Datasette {server.version} .csv?_stream=on"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    conn.request("GET", server.path.split("?")[0] + "?_size=1")  # warm up: one row, no stream
    conn.getresponse().read()
    keep = size <= 100_000
    body = bytearray()
    with PeakRss(server) as rss:
        started = time.monotonic()
        conn.request("GET", server.path)
        response = conn.getresponse()
        if response.status != 200:
            raise SystemExit(f"bench: Datasette answered {response.status}")
        received = 0
        while chunk := response.read(1 << 20):
            received += len(chunk)
            if keep:
                body += chunk
        seconds = time.monotonic() - started
    conn.close()
    if keep and (rows := sum(1 for _ in csv.reader(io.StringIO(body.decode()))) - 1) != size:
        raise SystemExit(f"bench: Datasette sent {rows} rows, expected {size}")
    size_mb = f"{received / 1e6:,.0f} MB"
    return Result(method, seconds, size, rss.peak, note=size_mb, kind="peer", cpu_s=rss.cpu)


def start_datasette(target: Target, query: dict[str, Any]) -> DatasetteServer | None:
    exe = install()
    if exe is None:
        return None
    db = ROOT / "var" / "bench" / f"datasette-{target.db}-{target.size}.db"
    source = Path(target.env["NOISEBANK_DATA_DIR"]) / "noisebank.sqlite3"
    build_table(
        db, query["names"], query["sql"], target.size,
        sqlite_source=source if target.db == "sqlite" else None,
        pg_url=target.env.get("DATABASE_URL"),
    )  # fmt: skip
    return DatasetteServer(exe, db)
