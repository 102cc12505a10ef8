"""Export jobs, click to file: POST /api/v1/exports, poll until done, download the file.

    .venv/bin/python bench/export_jobs.py                        # 23,453 rows, both databases
    .venv/bin/python bench/export_jobs.py --db sqlite --formats csv --repeat 5

Seeds (or reuses) the same databases as bench/export.py, migrates them, starts `noisebank serve`
and `noisebank worker` (which polls every 0.2 s), and times, over HTTP with a token, for each
format: the POST, the wait until the job reads done (polled every 50 ms, as a page would every
500 ms), and the download of the whole file. Each run asks for a selection of its own (an upper
recorded_to bound far in the future: every row, but a different fingerprint), so no run reuses
another's file; a last run repeats one to time reuse. Columns: the default preset (48). Medians
of --repeat runs; the machine's two cores are shared, so the direct download of the same file is
timed alongside: the difference is what the job adds (pickup, progress saves, the file, polling).
"""

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.export_http import BIN, ROOT, Server, Target, noisebank, prepare, say

POLL_S = 0.05


def request(
    server: Server, method: str, path: str, token: str, body: object = None
) -> tuple[int, bytes]:
    conn = server.connection()
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    content = response.read()
    conn.close()
    return response.status, content


def click_to_file(server: Server, token: str, fmt: str, tag: int) -> dict[str, float]:
    bound = f"2100-01-01T00:00:00.{tag:06d}"  # every row; a fingerprint of its own
    spec = {"format": fmt, "columns": "default", "filters": {"recorded_to": bound}}
    t0 = time.monotonic()
    status, body = request(server, "POST", "/api/v1/exports", token, spec)
    if status not in (201, 202):
        raise SystemExit(f"bench: POST answered {status}: {body[:300]!r}")
    job = json.loads(body)
    posted = time.monotonic() - t0
    while job["status"] in ("queued", "running"):
        time.sleep(POLL_S)
        job = json.loads(request(server, "GET", f"/api/v1/exports/{job['id']}", token)[1])
    done = time.monotonic() - t0
    if job["status"] != "done":
        raise SystemExit(f"bench: job {job['id']} ended {job['status']}: {job['error']}")
    status, content = request(server, "GET", job["download_url"], token)
    total = time.monotonic() - t0
    assert status == 200 and len(content) == job["bytes"], (status, len(content), job["bytes"])
    return {
        "post": posted,
        "done": done,
        "file": total,
        "rows": job["rows_total"],
        "bytes": len(content),
    }


BUSY = (
    "from django_tasks_db.models import DBTaskResult as T; "
    "print(T.objects.ready().count() + T.objects.filter(status='RUNNING').count())"
)


def wait_until_idle(target: Target, timeout: float = 600) -> None:
    """The seed queues its audio for measuring: time the jobs once the worker has done that
    (a job waits for the task the single worker is running; see the README)."""
    deadline = time.monotonic() + timeout
    while (
        busy := int(noisebank(target, "shell", "-v", "0", "-c", BUSY, capture=True).split()[-1])
    ) > 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: the worker still has {busy} task(s) after {timeout:.0f} s")
        say(f"waiting for the worker to finish {busy} queued task(s) …")
        time.sleep(5)


def direct(server: Server, token: str, fmt: str) -> float:
    """The same file as a direct download, for comparison: what the engine takes right now."""
    t0 = time.monotonic()
    status, _ = request(server, "GET", f"/api/v1/recordings/export.{fmt}?columns=default", token)
    assert status == 200, status
    return time.monotonic() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=23_453)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-prefix", default="noisebank_jobs_bench_", help="PostgreSQL db names")
    args = parser.parse_args()
    lines = [
        "| database | format | rows | MB | POST s | click → done s | click → file s "
        "| reuse: click → file s | direct download s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for db in [d.strip() for d in args.db.split(",")]:
        target: Target = prepare(db, args.size, args.pg_prefix)
        noisebank(target, "migrate", "-v", "0")
        token = noisebank(target, "token", "create", "researcher", "--name", "bench-jobs",
                          capture=True).strip()  # fmt: skip
        server = Server(target)
        worker = subprocess.Popen([str(BIN / "noisebank"), "worker", "--verbosity", "0"],
                                  env=target.env, cwd=ROOT)  # fmt: skip
        try:
            wait_until_idle(target)
            for fmt in [f.strip() for f in args.formats.split(",")]:
                tags = [random.randrange(1_000_000) for _ in range(args.repeat)]
                runs = [click_to_file(server, token, fmt, tag) for tag in tags]
                reuse = click_to_file(server, token, fmt, tags[0])  # the first run's selection
                straight = statistics.median(direct(server, token, fmt) for _ in tags)
                med = {k: statistics.median(r[k] for r in runs) for k in ("post", "done", "file")}
                lines.append(
                    f"| {db} | {fmt} | {runs[0]['rows']:,.0f} | {runs[0]['bytes'] / 1e6:.1f} | "
                    f"{med['post']:.2f} | {med['done']:.2f} | {med['file']:.2f} | "
                    f"{reuse['file']:.2f} | {straight:.2f} |"
                )
                say(lines[-1])
        finally:
            worker.terminate()
            worker.wait(20)
            server.stop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
