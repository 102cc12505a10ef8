"""The whole site under load: researchers browsing, collectors uploading, exports, at once.

    .venv/bin/python bench/load.py                       # PostgreSQL behind nginx, then SQLite
    .venv/bin/python bench/load.py --db postgres --minutes 1
    .venv/bin/python bench/load.py --db sqlite

PostgreSQL (the server at 127.0.0.1:5432 or --server): the demo's 23,453 recordings (seeded
once into a template database the test suite shares), `noisebank serve --workers 2` behind the
real nginx (deploy/nginx.conf.template), one `noisebank worker`; Locust (headless, bench/
load_users.py) runs 50 researchers (log in, catalogue with a filter or a sort, recording pages,
list API), 10 collectors uploading 10-second WAV files with a token, and 5 full CSV exports a
minute checked row for row, for 5 minutes. SQLite (the embedded default, WAL mode): the same
scenario against `noisebank serve` alone, as the demo runs, with 10 researchers and 3
collectors.

Printed side by side: requests and failures, p50/p95 of each kind of request, exports made and
row-exact, uploads taken and measured (waited for, up to 3 minutes after the run), database
connections and the web processes' memory before and after, "database is locked" lines in the
logs. Goals (issue 13): 0 failures, page p95 ≤ 500 ms, every upload measured, every export
row-exact, connections and memory back to baseline (the baseline: the web processes' memory after
a minute of the same load, --warm-up; their memory at start is printed too), 0 "database is
locked". All traffic is to 127.0.0.1; nothing outlives the run (databases and folders are
removed).
"""

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PASSWORD = "load-bench-pw"
COUNT = 23_453


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


@dataclass
class Result:
    db: str
    researchers: int
    collectors: int
    seconds: float
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    uploads_taken: int = 0
    uploads_measured: int = 0
    uploads_failed: int = 0
    connections: tuple[int, int] = (0, 0)
    memory_mb: tuple[float, float, float] = (0.0, 0.0, 0.0)  # started, warm, after
    locked: int = 0


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn's workers), MB."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def connections(url: str) -> int:
    if not url.startswith("postgres"):
        return 0
    from noisebank.ops.tests.servers import query

    name = url.rsplit("/", 1)[1]
    with query(url) as q:
        rows = q(
            f"SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '{name}' "
            "AND pid <> pg_backend_pid()"
        )
    return int(rows[0][0])


def plan(url: str, folder: Path) -> Path:
    from noisebank.ops.tests.servers import query

    with query(url) as q:
        ids = [r[0] for r in q("SELECT noise_id FROM catalog_recording ORDER BY id LIMIT 2000")]
        categories = [r[0] for r in q("SELECT name FROM catalog_category ORDER BY name")]
        accepted = q("SELECT COUNT(*) FROM catalog_recording WHERE review_state = 'accepted'")[0][0]
    path = folder / "plan.json"
    path.write_text(
        json.dumps(
            {
                "noise_ids": ids,
                "categories": categories,
                "upload_category": categories[0],
                "export_rows": accepted,
            }
        )
    )
    return path


def token(env: dict[str, str], username: str, scopes: str) -> str:
    from noisebank.ops.tests.servers import run

    out = run(["manage", "token", "create", username, "--scopes", scopes], env)
    return next(w for w in out.split() if w.startswith("nb_"))


def read_stats(prefix: Path) -> dict[str, dict[str, Any]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def read_failures(prefix: Path) -> list[str]:
    with open(f"{prefix}_failures.csv", newline="") as f:
        return [
            f"{row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error'][:200]}"
            for row in csv.DictReader(f)
        ]


def locust(
    base: str, env: dict[str, str], prefix: Path, researchers: int, collectors: int, seconds: float
) -> None:
    """Locust, headless, for ``seconds``: the users of bench/load_users.py against ``base``."""
    users = researchers + collectors + 1
    subprocess.run(
        [
            str(Path(sys.executable).parent / "locust"),
            "-f",
            str(ROOT / "bench" / "load_users.py"),
            "--headless",
            "--host",
            base,
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{int(seconds)}s",
            "--stop-timeout",
            "60",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env={**env, "LOAD_RESEARCHERS": str(researchers), "LOAD_COLLECTORS": str(collectors)},
        cwd=ROOT,
        check=False,  # Locust exits 1 when a request failed; the failures are reported
        timeout=seconds + 300,
    )


def scenario(
    db: str,
    url: str,
    folder: Path,
    *,
    researchers: int,
    collectors: int,
    minutes: float,
    warm_up_s: float,
) -> Result:
    from noisebank.ops.tests.servers import (
        base_env,
        free_port,
        nginx_command,
        query,
        render_nginx_config,
        start,
        start_noisebank,
        wait_until,
    )

    logs = folder / "logs"
    env = base_env(folder / "data", DATABASE_URL=url, NOISEBANK_LOG_LEVEL="WARNING")
    collector_token = token(env, "collector", "upload,read")
    export_token = token(env, "researcher", "export,read")
    app_port = free_port()
    workers = "2" if db == "postgres" else "1"
    web = start_noisebank(
        "web", ["serve", "--port", str(app_port), "--workers", workers], env, logs
    )
    worker = start_noisebank("worker", ["worker"], env, logs)
    procs = [web, worker]
    base = f"http://127.0.0.1:{app_port}"
    try:
        if db == "postgres":
            nginx_port = free_port()
            render_nginx_config(
                folder / "nginx",
                env,
                NOISEBANK_NGINX_LISTEN=f"127.0.0.1:{nginx_port}",
                NOISEBANK_UPSTREAM=f"127.0.0.1:{app_port}",
            )
            procs.append(
                start("nginx", nginx_command(folder / "nginx", "-g", "daemon off;"), {}, logs)
            )
            base = f"http://127.0.0.1:{nginx_port}"

        def up() -> bool:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                return bool(response.status == 200)

        wait_until(up, "the site", procs)
        prefix = folder / "locust"
        run_env = {
            **os.environ,
            "LOAD_PLAN": str(plan(url, folder)),
            "LOAD_PASSWORD": PASSWORD,
            "LOAD_TOKEN": collector_token,
            "LOAD_EXPORT_TOKEN": export_token,
            "LOAD_RESEARCHERS": str(researchers),
            "LOAD_COLLECTORS": str(collectors),
            "LOAD_EXPORTS_PER_MINUTE": "5",
        }
        started = tree_rss_mb(web.popen.pid)
        # Warm-up: the same load for a minute, so the baseline is a server that has imported
        # its code, filled its caches and grown its thread pool and allocator arenas to this
        # concurrency; memory that keeps growing after that, in the measured run, is a leak.
        say(f"{db}: warm-up, {warm_up_s:.0f} s of the same load")
        locust(base, run_env, folder / "warm-up", researchers, collectors, warm_up_s)
        time.sleep(5)
        before = (connections(url), tree_rss_mb(web.popen.pid))
        started_at = time.time()
        say(f"{db}: {researchers} researchers, {collectors} collectors, 1 exporter, {minutes} min")
        locust(base, run_env, prefix, researchers, collectors, minutes * 60)
        seconds = time.time() - started_at
        result = Result(db, researchers, collectors, seconds)
        result.stats = read_stats(prefix)
        result.failures = read_failures(prefix)

        def uploads() -> tuple[int, int, int]:
            with query(url) as q:
                rows = q(
                    "SELECT r.status, COUNT(*) FROM catalog_recording r JOIN auth_user u "
                    "ON u.id = r.collector_id WHERE u.username = 'collector' AND r.name "
                    "LIKE 'load %' GROUP BY r.status"
                )
            by = dict(rows)
            return sum(by.values()), by.get("ready", 0), by.get("failed", 0)

        wait_until(lambda: sum(uploads()[1:]) == uploads()[0], "every upload measured", procs, 180)
        result.uploads_taken, result.uploads_measured, result.uploads_failed = uploads()
        time.sleep(5)  # requests finished, connections closed
        result.connections = (before[0], connections(url))
        result.memory_mb = (started, before[1], tree_rss_mb(web.popen.pid))
        result.locked = sum(
            len(re.findall("database is locked", p.output())) for p in (web, worker)
        )
        return result
    finally:
        for p in reversed(procs):
            p.stop()


def p(stats: dict[str, Any], column: str) -> str:
    value = stats.get(column, "")
    return f"{float(value):,.0f}" if value not in ("", "N/A") else "-"


def report(results: list[Result]) -> None:
    print()
    for r in results:
        print(
            f"## {r.db}: {r.researchers} researchers, {r.collectors} collectors, "
            f"5 exports a minute, {r.seconds / 60:.1f} min\n"
        )
        print("| requests | count | failures | p50 ms | p95 ms | max ms |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, s in sorted(r.stats.items()):
            print(
                f"| {name} | {s['Request Count']} | {s['Failure Count']} | "
                f"{p(s, '50%')} | {p(s, '95%')} | {p(s, 'Max Response Time')} |"
            )
        pages = [s for n, s in r.stats.items() if n.startswith("page: ")]
        log_in = r.stats.get("log-in", {})
        worst = max((float(s["95%"]) for s in pages if s["95%"] not in ("", "N/A")), default=0)
        total = r.stats.get("Aggregated", {})
        print()
        print(f"- failures: {total.get('Failure Count', '?')} of {total.get('Request Count', '?')}")
        for line in r.failures:
            print(f"  - {line}")
        print(f"- worst page p95: {worst:,.0f} ms (goal ≤ 500)")
        print(
            f"- log-in p95: {p(log_in, '95%')} ms (once a session: Django's PBKDF2 password "
            "hash, deliberately slow, for every researcher starting at 5 a second)"
        )
        print(
            f"- uploads taken: {r.uploads_taken}, measured: {r.uploads_measured}, "
            f"failed: {r.uploads_failed}"
        )
        exports = r.stats.get("export: all rows, CSV", {})
        print(
            f"- exports: {exports.get('Request Count', 0)}, not row-exact or failed: "
            f"{exports.get('Failure Count', 0)}"
        )
        if r.db == "postgres":
            print(f"- database connections: {r.connections[0]} before, {r.connections[1]} after")
        started, warm, after = r.memory_mb
        print(
            f"- web memory: {started:,.0f} MB started, {warm:,.0f} MB after the warm-up "
            f"(the baseline), {after:,.0f} MB after the load ({after - warm:+,.0f} MB)"
        )
        print(f"- 'database is locked' in the logs: {r.locked}")
        print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="postgres,sqlite", help="postgres, sqlite or both")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument(
        "--warm-up", type=float, default=60.0, help="seconds of the same load before the baseline"
    )
    parser.add_argument("--server", default=PG_SERVER, help="PostgreSQL server URL, no database")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = f"{args.server}/postgres"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "noisebank.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from noisebank.ops.tests.servers import (
        base_env,
        nginx_binary,
        run,
        seeded_database,
        shared_tmpdir,
    )

    dbs = args.db.split(",")
    if "postgres" in dbs and nginx_binary() is None:
        raise SystemExit("bench: nginx is not installed (apt-get install nginx)")
    results = []
    for db in dbs:
        folder = shared_tmpdir(f"noisebank-bench-load-{db}-")
        try:
            if db == "postgres":
                say(f"a database of {COUNT:,} recordings (seeded once into a template) …")
                with seeded_database("load", folder, count=COUNT, password=PASSWORD) as url:
                    results.append(
                        scenario(
                            db,
                            url,
                            folder,
                            researchers=50,
                            collectors=10,
                            minutes=args.minutes,
                            warm_up_s=args.warm_up,
                        )
                    )
            elif db == "sqlite":
                url = f"sqlite:///{folder / 'data' / 'noisebank.sqlite3'}"
                env = base_env(folder / "data", DATABASE_URL=url)
                say(f"seeding {COUNT:,} recordings into SQLite …")
                run(["migrate", "-v", "0"], env)
                run(["seed", "--count", str(COUNT), "--audio", "0", "--password", PASSWORD], env)
                results.append(
                    scenario(
                        db,
                        url,
                        folder,
                        researchers=10,
                        collectors=3,
                        minutes=args.minutes,
                        warm_up_s=args.warm_up,
                    )
                )
            else:
                raise SystemExit(f"bench: --db {db}: use postgres or sqlite")
        finally:
            subprocess.run(["rm", "-rf", str(folder)], check=True)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
