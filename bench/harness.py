"""Run one measured case in a fresh Python process and read back its figures.

A fresh process per case keeps peak RSS honest (one case's garbage is not the next one's
baseline). The child prints one JSON line: seconds, bytes written, RSS after imports and at peak.
"""

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    name: str
    rows: int
    seconds: float
    bytes: int
    rss_start_mb: float
    rss_peak_mb: float
    first_chunk_s: float | None = None
    cpu_s: float = 0.0
    note: str = ""

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb(field: str = "VmHWM") -> float:
    """Peak (VmHWM) or current (VmRSS) resident memory of this process in MB. Read from /proc:
    getrusage's ru_maxrss survives exec, so a child would report its parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_report(
    seconds: float,
    nbytes: int,
    rss_start: float,
    first_chunk: float | None = None,
    cpu: float = 0.0,
) -> None:
    """Called by the child: print the figures as the last line of stdout."""
    print(
        json.dumps(
            {
                "seconds": seconds,
                "bytes": nbytes,
                "rss_start_mb": rss_start,
                "rss_peak_mb": rss_mb(),
                "first_chunk_s": first_chunk,
                "cpu_s": cpu,
            }
        ),
        flush=True,
    )


def time_chunks(chunks: Iterable[bytes], sink: Callable[[bytes], object]) -> None:
    """Drain a writer's chunks into sink and report (used inside the child)."""
    rss_start = rss_mb("VmRSS")
    cpu_start = cpu_s()
    started = time.perf_counter()
    first = None
    total = 0
    for chunk in chunks:
        if first is None:
            first = time.perf_counter() - started
        total += len(chunk)
        sink(chunk)
    child_report(time.perf_counter() - started, total, rss_start, first, cpu_s() - cpu_start)


def run_case(name: str, rows: int, module: str, *args: str, timeout: float = 1800) -> Result:
    """Run `python -m module rows *args` in a child and parse its report."""
    cmd = [sys.executable, "-m", module, str(rows), *args]
    done = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return Result(name, rows, 0.0, 0, 0.0, 0.0, note=f"failed: {tail[:80]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Result(
        name,
        rows,
        data["seconds"],
        data["bytes"],
        data["rss_start_mb"],
        data["rss_peak_mb"],
        data.get("first_chunk_s"),
        data.get("cpu_s", 0.0),
    )


def print_table(results: list[Result], baseline: str | None = None) -> None:
    """seconds = wall clock; CPU = user + sys of the case (steadier on a busy machine);
    ratio = CPU seconds / the baseline's CPU seconds."""
    base = {r.rows: r.cpu_s for r in results if r.name == baseline and r.cpu_s}
    head = (
        f"{'case':<38} {'rows':>9} {'seconds':>8} {'CPU s':>7} {'rows/s':>10} {'MB out':>8} "
        f"{'1st chunk s':>11} {'RSS start':>9} {'RSS peak':>9} {'ratio':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        if r.note:
            print(f"{r.name:<38} {r.rows:>9,} {r.note}")
            continue
        ratio = f"{r.cpu_s / base[r.rows]:.1f}" if r.rows in base else ""
        first = f"{r.first_chunk_s:.3f}" if r.first_chunk_s is not None else ""
        print(
            f"{r.name:<38} {r.rows:>9,} {r.seconds:>8.2f} {r.cpu_s:>7.2f} {r.rows_per_s:>10,.0f} "
            f"{r.bytes / 1e6:>8.1f} {first:>11} {r.rss_start_mb:>9.0f} {r.rss_peak_mb:>9.0f} "
            f"{ratio:>6}"
        )
