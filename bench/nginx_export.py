"""A million-row CSV export through the real nginx (deploy/nginx.conf.template, default timeouts).

    .venv/bin/python bench/nginx_export.py                  # 1,000,000 rows, PostgreSQL
    .venv/bin/python bench/nginx_export.py --rows 100000 --repeat 3

Needs nginx and PostgreSQL (PG_SERVER below, or --server). The recordings come from the template
database the test suite keeps (noisebank.ops.tests.servers.seeded_database: seeded once, about
3.5 minutes for a million, then copied in seconds). It starts `noisebank serve` (one uvicorn
process) behind nginx and downloads GET /api/v1/recordings/export.csv (default columns, 48),
through nginx and straight from uvicorn, and prints per path: seconds, rows/s, MB, time to the
first byte, the longest gap between two reads (what nginx's 60 s proxy_read_timeout limits) and
the peak resident memory of the uvicorn process during the download (sampled every 20 ms).
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PASSWORD = "million-test-pw"  # the test's: the same template serves both


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


@dataclass
class Run:
    path: str
    seconds: float
    first_byte_s: float
    longest_gap_s: float
    rows: int
    bytes: int
    peak_rss_mb: float


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def download(browser: Any, path: str, pid: int, label: str) -> Run:
    peak = rss_mb(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    response = browser.open(path, timeout=60)
    assert response.status == 200, response.status
    first = None
    last = started
    gap = 0.0
    size = 0
    while block := response.read1(1 << 16):
        now = time.monotonic()
        first = first if first is not None else now - started
        gap = max(gap, now - last)
        last = now
        size += len(block)
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    # Every row arriving is the test's to prove (test_nginx_million); here only the time.
    rows = int(response.headers["X-Row-Count"])
    return Run(label, seconds, first or seconds, gap, rows, size, peak)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each path (median)")
    parser.add_argument("--server", default=PG_SERVER, help="PostgreSQL server URL, no database")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = f"{args.server}/postgres"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "noisebank.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from noisebank.ops.tests.servers import (
        Browser,
        base_env,
        nginx_binary,
        seeded_database,
        shared_tmpdir,
        web_behind_nginx,
    )

    if nginx_binary() is None:
        raise SystemExit("bench: nginx is not installed (apt-get install nginx)")
    folder = shared_tmpdir("noisebank-bench-nginx-")
    runs: list[Run] = []
    try:
        say(f"a database of {args.rows:,} recordings (seeded once into a template) …")
        with seeded_database("bench", folder, count=args.rows, password=PASSWORD) as url:
            env = base_env(folder / "data", DATABASE_URL=url, NOISEBANK_LOG_LEVEL="WARNING")
            with web_behind_nginx(folder, env) as stack:
                app = stack.web.popen.pid
                for label, base in (("nginx", stack.url), ("uvicorn", stack.app_url)):
                    browser = Browser(base)
                    browser.log_in("researcher", PASSWORD)
                    for _ in range(args.repeat):
                        say(f"{label}: GET /api/v1/recordings/export.csv …")
                        runs.append(download(browser, "/api/v1/recordings/export.csv", app, label))
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=True)

    print(f"\n{args.rows:,} rows, CSV (default columns), PostgreSQL, one uvicorn process\n")
    print("| path | seconds | rows/s | MB | first byte s | longest gap s | uvicorn peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label in ("nginx", "uvicorn"):
        mine = [r for r in runs if r.path == label]
        if not mine:
            continue
        r = sorted(mine, key=lambda r: r.seconds)[len(mine) // 2]
        print(
            f"| {'through nginx' if label == 'nginx' else 'straight from uvicorn'} "
            f"| {statistics.median(x.seconds for x in mine):.1f} | {r.rows / r.seconds:,.0f} "
            f"| {r.bytes / 1e6:,.0f} | {r.first_byte_s:.2f} | {r.longest_gap_s:.2f} "
            f"| {max(x.peak_rss_mb for x in mine):.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
