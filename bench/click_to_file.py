"""Click-to-file time in a real Chromium: from the click on Export to the downloaded file.

    .venv/bin/python -m bench.click_to_file                   # 23,453 rows, CSV and Excel, both DBs
    .venv/bin/python -m bench.click_to_file --db sqlite --formats csv --repeat 5
    .venv/bin/python -m bench.click_to_file --preset metadata   # the panel's column presets

Columns: the panel's first choice, "default" (the original 38, levels and location: 48 columns),
unless --preset says otherwise ("all" is 112).

For each database it seeds a dedicated database once (`noisebank seed --audio 0`, reused on later
runs; PostgreSQL database click_<rows>, SQLite under var/bench/), starts `noisebank serve` and one
`noisebank worker` as an operator does, logs in as the demo researcher in Debian's Chromium
(/usr/bin/chromium) and, for each format, opens the catalogue with every recording selected,
clicks #export-button, waits for #export-download and downloads the file (Playwright's download
event), checking it has all the rows.

Each run selects all recordings with a filter no earlier run used (recorded_from=<a day before
all demo data>), so no finished file is reused: every run is a cold job. "reused" is one more
click on the first run's selection, answered from its finished file. Figures: median, min and max
over --repeat runs of click→ready (the link shows) and click→file (download complete).
Targets: CSV 2 s, Excel 3 s. The machine's two cores are shared: run it on a quiet machine.
"""

import argparse
import contextlib
import csv
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-click-pw"
TARGETS = {"csv": 2.0, "xlsx": 3.0}


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def noisebank(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "noisebank"), *args], env=env, cwd=ROOT, check=True)


def prepare(db: str, rows: int) -> dict[str, str]:
    """The environment of an app on a database holding `rows` demo recordings."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DB"}}
    env["NOISEBANK_LOG_LEVEL"] = "WARNING"
    env["NOISEBANK_DATA_DIR"] = str(ROOT / "var" / "bench" / f"click-{db}-{rows}")
    count: int | None = None
    if db == "postgres":
        import psycopg

        name = f"click_{rows}"
        env["DATABASE_URL"] = f"{PG_SERVER}/{name}"
        try:
            with psycopg.connect(env["DATABASE_URL"], connect_timeout=5) as conn:
                found = conn.execute("SELECT count(*) FROM catalog_recording").fetchone()
                count = int(found[0]) if found else None
        except psycopg.Error:
            pass
        if count != rows:
            say(f"seeding {rows:,} recordings into PostgreSQL database {name} …")
            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
    else:
        path = Path(env["NOISEBANK_DATA_DIR"]) / "noisebank.sqlite3"
        if path.exists():
            with sqlite3.connect(path) as conn, contextlib.suppress(sqlite3.Error):
                count = conn.execute("SELECT count(*) FROM catalog_recording").fetchone()[0]
        if count != rows:
            say(f"seeding {rows:,} recordings into SQLite {path} …")
            path.unlink(missing_ok=True)
    noisebank(env, "migrate", "-v", "0")
    if count != rows:
        noisebank(env, "seed", "--count", str(rows), "--audio", "0", "--password", PASSWORD)
    return env


@dataclass
class App:
    url: str
    procs: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(20)


def start_app(env: dict[str, str]) -> App:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    logs = Path(env["NOISEBANK_DATA_DIR"]) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs = [
        subprocess.Popen(
            [str(BIN / "noisebank"), *args],
            env=env,
            cwd=ROOT,
            stdout=(logs / f"{args[0]}.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        for args in (["serve", "--port", str(port), "--log-level", "warning"], ["worker"])
    ]
    app = App(f"http://127.0.0.1:{port}", procs)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(app.url + "/healthz", timeout=5) as response:
                if json.loads(response.read())["workers"]["alive"]:
                    return app
        except OSError:
            pass
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            app.stop()
            raise SystemExit(f"bench: the app did not start; see {logs}")
        time.sleep(0.2)


def count_rows(path: Path, fmt: str) -> int:
    if fmt == "csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            return sum(1 for _ in csv.reader(f)) - 1  # values may hold line breaks
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    return sum(len(book.get_sheet_by_name(n).to_python()) - 1 for n in book.sheet_names)


# Runs of this invocation select every recording with recorded_from=<FIRST_DAY + run days>,
# a date before all demo data that no earlier invocation used (so no finished file is reused).
FIRST_DAY = date(1800, 1, 1) + timedelta(days=int(time.time()) // 60 % 40_000)


# Days back from FIRST_DAY, different in every invocation: the files of an earlier invocation
# (same data, same filters) would be reused, and a reused file is no measure of a cold job.
INVOCATION = (int(time.time()) // 10) % 20_000 * 3


def everything(run: int) -> str:
    return f"recorded_from={FIRST_DAY - timedelta(days=INVOCATION + run)}"


def cancel_unfinished(page: Any) -> None:
    """Stop jobs an interrupted run left: they would hold the worker, and the panel (which
    shows a user's unfinished job when the page loads) would show them."""
    token = page.locator("#export-form input[name=csrfmiddlewaretoken]").input_value()
    left = page.request.get("/api/v1/exports?mine=1&status=queued,running&size=200")
    for job in left.json()["results"]:
        say(f"cancelling job {job['id']}, left unfinished by an earlier run")
        page.request.post(f"/api/v1/exports/{job['id']}/cancel", headers={"X-CSRFToken": token})


def click_to_file(
    page: Any, fmt: str, preset: str, query: str, folder: Path
) -> tuple[float, float, Path]:
    """(click→ready, click→file, the file) for one export of the selection `query`."""
    page.goto(f"/recordings/?{query}")
    page.locator("#export-panel select[name=format]").select_option(fmt)
    page.locator("#export-panel select[name=columns_preset]").select_option(preset)
    link = page.locator("#export-download")
    started = time.monotonic()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("#export-button")
    job_id = posted.value.json()["id"]
    # The panel may still show the job this browser ran before: wait for this one's link.
    page.wait_for_function(
        "id => { const a = document.querySelector('#export-download');"
        " return !a.hidden && a.href.includes(id); }",
        arg=job_id,
        timeout=600_000,
        polling=20,
    )
    ready = time.monotonic() - started
    with page.expect_download(timeout=600_000) as info:
        link.click()
    target = folder / f"{fmt}-{time.monotonic_ns()}.{fmt}"
    info.value.save_as(target)  # waits for the download to finish
    return ready, time.monotonic() - started, target


def measure(
    db: str, rows: int, formats: list[str], repeat: int, preset: str
) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    env = prepare(db, rows)
    app = start_app(env)
    results = []
    args = ["--disable-gpu", "--no-first-run"] + (["--no-sandbox"] if os.geteuid() == 0 else [])
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
            context = browser.new_context(base_url=app.url, accept_downloads=True)
            context.set_default_timeout(60_000)
            page = context.new_page()
            page.goto("/accounts/login/")
            page.fill("input[name=username]", "researcher")
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")
            page.goto("/recordings/")
            cancel_unfinished(page)
            run = 0
            for fmt in formats:
                ready: list[float] = []
                done: list[float] = []
                for _ in range(repeat):
                    run += 1
                    say(f"{db}: {fmt}, run {len(done) + 1} of {repeat} …")
                    r, d, path = click_to_file(page, fmt, preset, everything(run), Path(tmp))
                    got = count_rows(path, fmt)
                    if got != rows:
                        raise SystemExit(f"bench: the {fmt} file holds {got:,} rows, not {rows:,}")
                    path.unlink()
                    ready.append(r)
                    done.append(d)
                _, reused, path = click_to_file(
                    page, fmt, preset, everything(run - repeat + 1), Path(tmp)
                )
                results.append(
                    {"db": db, "rows": rows, "format": fmt, "ready": ready, "file": done,
                     "reused": reused}
                )  # fmt: skip
            browser.close()
    finally:
        app.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--rows", type=int, default=23_453)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--repeat", type=int, default=3, help="cold runs of each format (3)")
    parser.add_argument("--preset", default="default", help="the panel's columns: default, all, …")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the app on the way out
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"bench: needs Chromium at {CHROMIUM} (apt-get install chromium)")
    formats = [f.strip() for f in args.formats.split(",")]
    results = []
    for db in [d.strip() for d in args.db.split(",")]:
        results += measure(db, args.rows, formats, args.repeat, args.preset)
    print(
        f"\nClick-to-file in Chromium, {args.rows:,} rows, columns: {args.preset}, "
        f"{args.repeat} cold runs\n"
    )
    print("| database | format | click→ready p50 (min-max) | click→file p50 (min-max) "
          "| reused file | target |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for r in results:
        ready, done = r["ready"], r["file"]
        target = TARGETS.get(r["format"])
        print(
            f"| {r['db']} | {r['format']} "
            f"| {statistics.median(ready):.2f} s ({min(ready):.2f}-{max(ready):.2f}) "
            f"| {statistics.median(done):.2f} s ({min(done):.2f}-{max(done):.2f}) "
            f"| {r['reused']:.2f} s | {f'{target:.0f} s' if target else '—'} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
