"""How fast are recordings taken in and measured?

    .venv/bin/python bench/ingest.py [--repeat 3] [--files 1000] [--file-seconds 2] [--workers 2]

1. The worker's work on one recording (decode + analyse(), plot data included), for 10 s and
   60 s clips at 48 kHz (24-bit WAV train pass-bys): recordings per second on one core and the
   multiple of real time; then the page's share: drawing the stored plot data as SVG.
2. `noisebank import` of --files distinct clips into a fresh SQLite database (a real process),
   then `noisebank db_worker --batch` processes (--workers of them in parallel) measuring them
   all: the time of each phase and the files per second.

Everything runs in a temporary data folder; nothing is left behind.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def best(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def per_recording(repeat: int, folder: Path) -> None:
    from noisebank.ingest.analysis import analyse
    from noisebank.ingest.audio import load_audio
    from noisebank.ingest.decode import open_audio
    from noisebank.lib import synth

    print(f"1. The worker's work on one recording (best of {repeat}, one core)")
    head = ("clip", "decode", "measure", "total", "rec/s", "x real time")
    print("{:>6} {:>7} {:>8} {:>7} {:>6} {:>12}".format(*head))
    for seconds in (10, 60):
        path = folder / f"clip{seconds}.wav"
        sf.write(path, synth.train_passby(duration_s=seconds), 48_000, subtype="PCM_24")
        source = open_audio(path)
        analyse(source, calibration_offset_db=None)  # warm up imports and caches
        t_load = best(repeat, functools.partial(load_audio, path))
        # Decoding (twice, streamed), levels, features and plot data in one call.
        total = best(repeat, functools.partial(analyse, source, calibration_offset_db=120.0))
        print(
            f"{seconds:>5}s {t_load:>6.3f}s {total - t_load:>7.3f}s {total:>6.3f}s "
            f"{1 / total:>6.2f} {seconds / total:>11.1f}x"
        )
        if seconds == 60:
            page_side(repeat, source, t_load)


def page_side(repeat: int, source: Any, t_load: float) -> None:
    from noisebank.ingest import plots
    from noisebank.ingest.analysis import analyse

    result = analyse(source, calibration_offset_db=120.0)
    levels = result.levels
    assert levels is not None
    data = result.plots
    series = {"level_times_s": result.series.level_times_s, "laf_levels": result.series.laf_levels}
    marks = {"LAeq": levels.laeq, "LA10": levels.la10, "LA90": levels.la90}

    def draw() -> int:
        drawn = (
            plots.waveform_svg(data["waveform"]),
            plots.level_svg(series, marks, "dB SPL"),
            plots.spectrogram_svg(data["spectrogram"]),
            plots.bands_svg(levels.band_levels, "dB SPL"),
        )
        return sum(len(s) for s in drawn)

    t_draw = best(repeat, draw)
    png_kb = len(data["spectrogram"]["png"]) * 3 / 4 / 1024
    print(
        f"\n   Page side, 60 s clip: drawing the four SVG plots from stored data takes "
        f"{t_draw * 1000:.1f} ms ({draw() / 1024:.0f} kB of SVG, of which the spectrogram "
        f"PNG is {png_kb:.0f} kB), made once by the worker; decoding the file again would "
        f"take {t_load * 1000:.0f} ms per view."
    )


def import_and_process(files: int, seconds: float, workers: int, folder: Path) -> None:
    data = folder / "data"
    clips = folder / "clips"
    clips.mkdir()
    rng = np.random.default_rng(7)
    base = None
    from noisebank.lib import synth

    base = synth.train_passby(duration_s=seconds)
    for i in range(files):
        # Distinct bytes per file (else they would be duplicates): a little seeded noise.
        x = base + 1e-4 * rng.standard_normal(base.size)
        sf.write(clips / f"rec{i:05d}.wav", x, 48_000, subtype="PCM_16")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOISEBANK_", "DATABASE"))}
    env["NOISEBANK_DATA_DIR"] = str(data)
    noisebank = [sys.executable, "-m", "noisebank.cli"]
    subprocess.run([*noisebank, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [*noisebank, "seed", "--count", "0", "--audio", "0"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip

    print(f"\n2. `noisebank import` of {files:,} files of {seconds:g} s (48 kHz, 16-bit WAV)")
    start = time.perf_counter()
    done = subprocess.run(
        [*noisebank, "import", str(clips), "--collector", "collector"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    t_import = time.perf_counter() - start
    summary = done.stdout.strip().splitlines()[-1]
    print(f"   import (validate, hash, copy, insert, queue): {t_import:6.1f} s ", end="")
    print(f"({files / t_import:,.0f} files/s)   {summary}")

    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                *noisebank,
                "db_worker",
                "--batch",
                "--no-startup-delay",
                "--interval",
                "0",
                "--verbosity",
                "0",
            ],
            cwd=ROOT,
            env=env,
        )
        for _ in range(workers)
    ]
    for p in procs:
        p.wait()
    t_work = time.perf_counter() - start
    count = (
        "from noisebank.catalog.models import Recording as R; "
        "print(R.objects.filter(status='ready').count(), "
        "R.objects.exclude(status='ready').count())"
    )
    check = subprocess.run(
        [*noisebank, "shell", "-c", count],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    ready, other = check.stdout.split()[-2:]
    print(
        f"   measuring by {workers} worker process(es):      {t_work:6.1f} s "
        f"({files / t_work:.1f} recordings/s, {files * seconds / t_work:.0f}x real time in all, "
        f"{files * seconds / t_work / workers:.0f}x per worker); ready {ready}, other {other}"
    )
    print(f"   import + measure: {t_import + t_work:.1f} s for {files:,} files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--file-seconds", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "noisebank.settings")
    with tempfile.TemporaryDirectory(prefix="noisebank-bench-") as tmp:
        os.environ["NOISEBANK_DATA_DIR"] = str(Path(tmp) / "own")
        import django

        django.setup()
        per_recording(args.repeat, Path(tmp))
        if not args.skip_import:
            import_and_process(args.files, args.file_seconds, args.workers, Path(tmp))


if __name__ == "__main__":
    main()
