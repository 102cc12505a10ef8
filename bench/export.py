"""Export benchmark: the original system's method against ours, over HTTP through the real server.

    .venv/bin/python bench/export.py                       # 23,453 and 1,000,000 rows, both DBs
    .venv/bin/python bench/export.py --sizes 23453 --db sqlite,postgres
    .venv/bin/python bench/export.py --sizes 23453 --formats csv --repeat 5

For each database and size it seeds a dedicated database once (`noisebank seed`, reused on later
runs), starts `noisebank serve` and measures, in one run:

- the floor: COPY (SELECT <the same columns>) TO STDOUT into /dev/null (PostgreSQL), or the
  sqlite3 shell writing the same query as CSV to /dev/null (SQLite);
- our direct downloads, GET /api/v1/recordings/export.<fmt>, for every format the server has
  (the others show n/a) or those --formats names, read to the end;
- Datasette, a peer: the same rows (the default columns, under the same names) in a table of a
  SQLite file of their own, served by `datasette serve` and read as `.csv?_stream=on`
  (installed into var/bench/datasette-venv the first time; --no-datasette leaves it out);
- the seed's method: GET /api/export-data/ in 500-row batches, 5 requests at a time, JSON
  assembled in the client, then written as CSV and as XLSX (as the original page did; at 1M rows
  it stops after --seed-budget seconds and extrapolates from the batches it timed, marked ≈).

The peers live in bench/export_peers.py, what the scripts share in bench/export_http.py.

Columns: the default preset (the original's 38 and the levels and location, 48). Peak RSS is the
server process's (ours or Datasette's), sampled during each method. The floor, the direct
downloads and Datasette are timed --repeat times (default 3 up to 100,000 rows, else 1) and the
median is shown: the machine's two cores are shared. Figures are printed as a Markdown table per
database and size, with the CSV's ratios to the floor, Datasette and the seed's method on one
line under it, and saved to bench/out/export-<time>.json.
"""

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.export_http import (
    ROOT,
    PeakRss,
    Result,
    Server,
    Target,
    noisebank,
    own_cpu_s,
    prepare,
    say,
)
from bench.export_peers import datasette, seed_method, start_datasette

FORMATS = ("csv", "xlsx", "parquet", "jsonl", "geojson", "zip")


# --- our side and the floor ----------------------------------------------------------------------


def direct_download(server: Server, token: str, fmt: str, size: int) -> Result:
    path = f"/api/v1/recordings/export.{fmt}"
    status, body = server.get(f"{path}?status=processing&columns=noise_id", token)  # warm up
    if status == 400 and b"not available" in body:
        return Result(f"direct {fmt}", None, size, None, note="n/a", kind=fmt)
    with PeakRss(server) as rss:
        started = time.monotonic()
        conn = server.connection()
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        if response.status != 200:
            raise SystemExit(f"bench: {path} answered {response.status}: {response.read()!r}")
        rows = int(response.getheader("X-Row-Count") or -1)
        received = 0
        while chunk := response.read(1 << 20):
            received += len(chunk)
        seconds = time.monotonic() - started
        conn.close()
    if rows != size:
        raise SystemExit(f"bench: {path} announced {rows} rows, expected {size}")
    size_mb = f"{received / 1e6:,.0f} MB"
    return Result(f"direct {fmt}", seconds, size, rss.peak, note=size_mb, kind=fmt, cpu_s=rss.cpu)


EXPORT_SQL = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "noisebank.settings")
django.setup()
from noisebank.catalog.models import Recording
from noisebank.exports.columns import resolve_columns
from noisebank.exports.source import ExportQuery
from django.db import connection
columns = resolve_columns("default")
sql, params = ExportQuery(Recording.objects.all(), columns).sql()
if connection.vendor == "postgresql":
    sql = connection.ops.compose_sql(sql, params)
else:
    with connection.cursor() as cursor:
        sql = connection.ops.last_executed_query(cursor, sql, params)
print(json.dumps({"sql": sql, "names": [c.name for c in columns]}))
"""


def export_query(target: Target) -> dict[str, Any]:
    """The default export's SQL (parameters inlined) and column names, as the app builds them."""
    out = subprocess.run(
        [sys.executable, "-c", EXPORT_SQL], env=target.env, cwd=ROOT, check=True,
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    return dict(json.loads(out.strip().splitlines()[-1]))


def floor(target: Target, sql: str) -> Result:
    if target.db == "postgres":
        import psycopg

        with psycopg.connect(target.env["DATABASE_URL"]) as conn:
            conn.execute("SET jit = off")
            started = time.monotonic()
            with (
                open(os.devnull, "wb") as sink,
                conn.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER)") as copy,
            ):
                for data in copy:
                    sink.write(data)
            seconds = time.monotonic() - started
        label = "floor: COPY … TO STDOUT → /dev/null"
        return Result(label, seconds, target.size, None, kind="floor")
    db = Path(target.env["NOISEBANK_DATA_DIR"]) / "noisebank.sqlite3"
    shell = shutil.which("sqlite3")
    cpu = children_cpu_s() + own_cpu_s()
    started = time.monotonic()
    if shell:
        with open(os.devnull, "wb") as sink:
            subprocess.run([shell, "-csv", "-header", str(db), sql], stdout=sink, check=True)
        label = "floor: sqlite3 shell -csv → /dev/null"
    else:
        with sqlite3.connect(db) as conn:
            for _ in conn.execute(sql):
                pass
        label = "floor: sqlite3 fetch, no formatting"
    seconds = time.monotonic() - started
    cpu = children_cpu_s() + own_cpu_s() - cpu
    return Result(label, seconds, target.size, None, kind="floor", cpu_s=cpu)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- report -------------------------------------------------------------------------------------


def median(runs: list[Result]) -> Result:
    if runs[0].seconds is None:
        return runs[0]
    ordered = sorted(runs, key=lambda r: r.seconds or 0.0)
    chosen = ordered[len(ordered) // 2]
    chosen.peak_rss_mb = max(r.peak_rss_mb or 0.0 for r in runs) or None
    cpus = sorted(r.cpu_s for r in runs if r.cpu_s is not None)
    chosen.cpu_s = cpus[len(cpus) // 2] if len(cpus) == len(runs) else None
    if len(runs) > 1:
        chosen.note = ", ".join(filter(None, [chosen.note, f"median of {len(runs)}"]))
    return chosen


def table(target: Target, results: list[Result]) -> str:
    floor = next(r for r in results if r.kind == "floor")
    floor_s = floor.seconds or 1.0
    seeds = {r.kind: r for r in results if r.method.startswith("seed")}
    peer = next((r for r in results if r.kind == "peer" and r.seconds), None)
    # CPU only where every process doing the work is counted: on PostgreSQL part of it is done
    # by the server's backends.
    cpu = target.db == "sqlite"
    lines = [
        f"**{'PostgreSQL' if target.db == 'postgres' else 'SQLite'}, {target.size:,} rows**",
        "",
        "| method | seconds | rows/s | server peak RSS | × floor | × faster than seed's "  # noqa: RUF001
        f"| × faster than Datasette |{' CPU s | CPU × floor |' if cpu else ''}",  # noqa: RUF001
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |" + (" ---: | ---: |" if cpu else ""),
    ]
    for r in results:
        if r.seconds is None:
            lines.append(f"| {r.method} ({r.note}) | n/a | | | | | |" + (" | |" if cpu else ""))
            continue
        mark = "≈" if r.estimated else ""
        seed = seeds.get("xlsx" if r.kind == "xlsx" else "csv")
        vs_seed = (
            f"{seed.seconds / r.seconds:,.1f}"
            if seed and seed.seconds and not r.method.startswith("seed")
            else ""
        )
        as_csv = r.kind in ("csv", "floor") and not r.method.startswith("seed")
        vs_peer = f"{peer.seconds / r.seconds:,.2f}" if peer and peer.seconds and as_csv else ""
        rss = f"{r.peak_rss_mb:,.0f} MB" if r.peak_rss_mb else ""
        note = f" ({r.note})" if r.note else ""
        line = (
            f"| {r.method}{note} | {mark}{r.seconds:,.2f} | {mark}{r.rows / r.seconds:,.0f} | "
            f"{rss} | {mark}{r.seconds / floor_s:,.2f} | {vs_seed} | {vs_peer} |"
        )
        if cpu:
            has = r.cpu_s is not None and floor.cpu_s
            line += f" {r.cpu_s:,.2f} | {r.cpu_s / floor.cpu_s:,.2f} |" if has else " | |"  # type: ignore[operator]
        lines.append(line)
    ours = next((r for r in results if r.method == "direct csv" and r.seconds), None)
    if ours and ours.seconds:
        lines += ["", "CSV over HTTP: " + goals(ours, floor, peer, seeds.get("csv"), "seconds")]
        if cpu:
            lines.append("In CPU seconds: " + goals(ours, floor, peer, seeds.get("csv"), "cpu_s"))
    return "\n".join(lines)


def goals(
    ours: Result, floor: Result, peer: Result | None, seed: Result | None, measure: str
) -> str:
    def ratio(a: Result | None, b: Result | None) -> float | None:
        x, y = getattr(a, measure, None), getattr(b, measure, None)
        return x / y if x and y else None

    parts = []
    if (r := ratio(ours, floor)) is not None:
        parts.append(f"{r:.2f}× the floor (goal ≤ 1.6)")  # noqa: RUF001
    if (r := ratio(peer, ours)) is not None:
        parts.append(f"{r:.2f}× faster than Datasette (goal ≥ 3)")  # noqa: RUF001
    if (r := ratio(seed, ours)) is not None:
        parts.append(f"the seed's method {r:.1f}× slower (goal ≥ 10)")  # noqa: RUF001
    return "; ".join(parts) + "."


def measure(
    target: Target, token: str, formats: list[str], repeat: int, with_peer: bool, budget: float
) -> list[Result]:
    """The floor, our downloads and Datasette, interleaved run by run (the machine is shared,
    so each method's median comes from the same stretch of time), then the seed's method."""
    server = Server(target)
    peer = None
    try:
        query = export_query(target)
        if with_peer and "csv" in formats:
            peer = start_datasette(target, query)
        runs: dict[str, list[Result]] = {}
        for turn in range(repeat):
            say(f"{target.db}, {target.size:,} rows: run {turn + 1} of {repeat} …")
            runs.setdefault("floor", []).append(floor(target, query["sql"]))
            for fmt in formats:
                runs.setdefault(fmt, []).append(direct_download(server, token, fmt, target.size))
            if peer is not None:
                runs.setdefault("peer", []).append(datasette(peer, target.size))
        results = [median(r) for r in runs.values()]
        if with_peer and peer is None and "csv" in formats:
            results.append(Result("Datasette", None, target.size, None, note="not installed"))
        say(f"{target.db}, {target.size:,} rows: the seed's method …")
        results += seed_method(server, token, target.size, budget)
    finally:
        server.stop()
        if peer is not None:
            peer.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="23453,1000000")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--formats", default=",".join(FORMATS), help="direct downloads to time")
    parser.add_argument("--seed-budget", type=float, default=180, help="seconds (default 180)")
    parser.add_argument("--pg-prefix", default="noisebank_bench_", help="PostgreSQL db names")
    parser.add_argument("--repeat", type=int, default=0, help="runs of each download (median)")
    parser.add_argument("--no-datasette", action="store_true", help="leave the peer out")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    dbs = [d.strip() for d in args.db.split(",")]
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if unknown := set(formats) - set(FORMATS):
        parser.error(f"unknown formats: {', '.join(sorted(unknown))} (known: {', '.join(FORMATS)})")
    report: list[dict[str, Any]] = []
    for db in dbs:
        for size in sizes:
            target = prepare(db, size, args.pg_prefix)
            token = noisebank(target, "token", "create", "researcher", "--name", "bench",
                              capture=True).strip()  # fmt: skip
            repeat = args.repeat or (3 if size <= 100_000 else 1)
            results = measure(
                target, token, formats, repeat, not args.no_datasette, args.seed_budget
            )
            print(table(target, results) + "\n", flush=True)
            report.append({"db": db, "size": size, "results": [r.__dict__ for r in results]})
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"export-{stamp}.json").write_text(json.dumps(report, indent=2))
    say(f"saved bench/out/export-{stamp}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
