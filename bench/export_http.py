"""What bench/export.py and its peers share: the databases they seed, the server they start, the
server's peak memory and the figures they print (see bench/export.py)."""

import http.client
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


@dataclass
class Result:
    method: str
    seconds: float | None
    rows: int
    peak_rss_mb: float | None
    estimated: bool = False
    note: str = ""
    kind: str = "csv"  # which seed figure it is compared with: csv or xlsx
    # CPU seconds of the processes doing the work (the server, or the floor's shell, and the
    # client); None where part of it is PostgreSQL's (its backends are not counted).
    cpu_s: float | None = None


@dataclass
class Target:
    db: str
    size: int
    env: dict[str, str] = field(default_factory=dict)


# --- databases ----------------------------------------------------------------------------------


def noisebank(target: Target, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [str(BIN / "noisebank"), *args],
        env=target.env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE if capture else None,
        text=True,
    )
    return result.stdout or ""


def pg_count(url: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute("SELECT count(*) FROM catalog_recording").fetchone()
            return int(row[0]) if row else None
    except psycopg.Error:
        return None


def prepare(db: str, size: int, pg_prefix: str) -> Target:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DB"}}
    env["NOISEBANK_LOG_LEVEL"] = "WARNING"
    if db == "postgres":
        import psycopg

        name = f"{pg_prefix}{size}"
        url = f"{PG_SERVER}/{name}"
        env["DATABASE_URL"] = url
        env["NOISEBANK_DATA_DIR"] = str(ROOT / "var" / "bench" / "pg")
        target = Target(db, size, env)
        if pg_count(url) != size:
            say(f"seeding {size:,} recordings into PostgreSQL database {name} …")
            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                conn.execute(f'CREATE DATABASE "{name}"')
            noisebank(target, "migrate", "-v", "0")
            noisebank(target, "seed", "--count", str(size), "--audio", "0")
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
        return target
    data_dir = ROOT / "var" / "bench" / f"sqlite-{size}"
    env["NOISEBANK_DATA_DIR"] = str(data_dir)
    target = Target(db, size, env)
    path = data_dir / "noisebank.sqlite3"
    count = None
    if path.exists():
        with sqlite3.connect(path) as conn:
            try:
                count = conn.execute("SELECT count(*) FROM catalog_recording").fetchone()[0]
            except sqlite3.Error:
                count = None
    if count != size:
        say(f"seeding {size:,} recordings into SQLite {path} …")
        shutil.rmtree(data_dir, ignore_errors=True)
        noisebank(target, "migrate", "-v", "0")
        noisebank(target, "seed", "--count", str(size), "--audio", "0")
        with sqlite3.connect(path) as conn:
            conn.execute("ANALYZE")
    return target


# --- the server ---------------------------------------------------------------------------------


class Server:
    def __init__(self, target: Target) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.process = subprocess.Popen(
            [str(BIN / "noisebank"), "serve", "--port", str(self.port), "--log-level", "warning"],
            env=target.env,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.get("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("bench: the server did not start")
            time.sleep(0.2)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def get(self, path: str, token: str = "") -> tuple[int, bytes]:
        conn = self.connection()
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, body

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class HasProcess(Protocol):
    process: subprocess.Popen[bytes]


class PeakRss:
    """A server's peak resident memory while a method runs (sampled every 20 ms), and the CPU
    seconds the server and this client (the bench's process) used meanwhile."""

    def __init__(self, server: HasProcess) -> None:
        self.pid = server.process.pid
        self.peak = 0.0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> "PeakRss":
        self._cpu_start = cpu_s(self.pid) + own_cpu_s()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))
        self.cpu = cpu_s(self.pid) + own_cpu_s() - self._cpu_start
