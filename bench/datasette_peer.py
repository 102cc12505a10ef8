"""Datasette as a peer of bench/export.py: the same rows, streamed as CSV by Datasette.

The bench installs Datasette (pinned below) into a venv of its own, var/bench/datasette-venv,
the first time it is needed (pip reaches the package index once; later runs reuse the venv), so
it never enters Noisebank's dependencies. It copies the rows of the export's default columns,
under the same names, into a table of a SQLite file beside the bench databases (rebuilt when
its row count or its source changes), serves that file with `datasette serve` and reads
`/<db>/recordings.csv?_stream=on&_size=max` over HTTP, as a Datasette user streams a table.
`max_csv_mb` is lifted (0) so Datasette sends every row, as ours does. When the venv cannot be
made or the package not installed, the bench says so and leaves Datasette out.
"""

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "var" / "bench" / "datasette-venv"
DATASETTE = "datasette==0.65.5"
TABLE = "recordings"


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


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
