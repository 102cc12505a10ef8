"""What does measuring one recording cost the worker, in memory and time, by length?

    .venv/bin/python bench/ingest_analysis.py [--long] [--before-minutes 1] [--skip-stages]
    .venv/bin/python bench/ingest_analysis.py --against main [--rounds 5]

Recordings are synthetic field recordings (``synth.long_recording``: pink background, a train
pass-by and horn every 5 minutes) written block by block to 16-bit FLAC, so the bench itself
stays small: 1 min and 1 h of 48 kHz mono, 1 h of 48 kHz stereo, and with ``--long`` 24 h of
48 kHz mono (about 5 GB of FLAC in a temporary folder, 30+ minutes).

Each case runs in a fresh process: imports and a warm-up on a 2 s file first, then the peak
resident memory is reset (``/proc/self/clear_refs``) and the worker's path runs on the file:
``decode.open_audio`` + ``analysis.analyse`` (levels, features and plot data). Printed: the
rise of peak RSS over the warmed-up process, CPU seconds, and CPU-time multiple of real time
(CPU time, because the machine is shared: wall time is printed beside it).

Side by side, "before" is the path this replaced (``bench/before_streaming.py``: decode the
whole file to float64, analyse the whole array, plot data from it), run on the same files up to
``--before-minutes`` (default 1; it holds about 60 bytes a sample, 10 GB for an hour at
48 kHz); longer cases print the memory that rate predicts instead.

Then, unless ``--skip-stages``, the CPU time of each stage of the streaming path on 1 minute.

``--against REV`` instead compares this tree's streaming path with git revision REV's on 2 min
of 48 kHz mono: fresh processes in alternating order (``--rounds`` each), medians of CPU time,
since on a shared machine only runs interleaved in time compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from noisebank.lib import synth  # noqa: E402

RATE = 48_000
CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from bench.harness import cpu_s, rss_mb
path, warm, which = sys.argv[1:4]
if which == "before":
    from bench.before_streaming import worker_path
    run = lambda p: worker_path(p)
else:
    from noisebank.ingest.analysis import analyse
    from noisebank.ingest.decode import open_audio
    run = lambda p: analyse(open_audio(p), calibration_offset_db=None)
run(warm)
base = rss_mb("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # peak RSS (VmHWM) starts again from the current RSS
wall, cpu = time.perf_counter(), cpu_s()
result = run(path)
print(json.dumps({{"wall": time.perf_counter() - wall, "cpu": cpu_s() - cpu,
                  "rise": rss_mb("VmHWM") - base, "laeq": result.levels.laeq}}))
"""


def write_recording(path: Path, seconds: float, channels: int) -> Path:
    with sf.SoundFile(path, "w", RATE, channels, "PCM_16", format="FLAC") as f:
        for block in synth.long_recording(seconds, sample_rate=RATE, channels=channels):
            f.write(block)
    return path


def measure(which: str, path: Path, warm: Path, root: Path = ROOT) -> dict[str, float]:
    code = CHILD.format(root=str(root))
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), str(warm), which],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{which} failed on {path.name}:\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def cell(figures: dict[str, float] | None, seconds: float, note: str = "") -> str:
    if figures is None:
        return f"{note:>42}"
    speed = seconds / figures["cpu"]
    return (
        f"{figures['rise']:>8.0f} MB {figures['cpu']:>8.1f} s {speed:>6.0f}x"
        f" ({figures['wall']:>6.1f} s)"
    )


def stages(seconds: float) -> dict[str, Callable[[], object]]:
    """Each stage of the streaming pass alone, over the same blocks of one recording."""
    from noisebank.ingest import levels
    from noisebank.ingest.bands import BandMeter, SpectrumMeter
    from noisebank.ingest.features import FeatureMeter
    from noisebank.ingest.plots import SpectrogramMeter, WaveformMeter
    from noisebank.ingest.sanity import SignalChecker

    blocks = list(synth.long_recording(seconds, sample_rate=RATE, block_s=5.46))
    centred = [np.ascontiguousarray(b.T) for b in blocks]
    frames = sum(len(b) for b in blocks)

    def run(make: Callable[[], object], feed: Callable[[object, np.ndarray], object]) -> object:
        meter = make()
        for x in centred:
            feed(meter, x)
        return meter

    def level_stage() -> None:
        meter = levels.LevelMeter(RATE, 1)
        for x in centred:
            meter.add(x)
        meter.finish()
        meter.readings.close()

    def first_read() -> None:
        checker = SignalChecker(1)
        for b in blocks:
            checker.add(b)

    return {
        "first read (DC, peaks, clipping)": first_read,
        "A-weighting, LAF, histogram": level_stage,
        "1/3-octave bands": lambda: run(lambda: BandMeter(RATE, 1), BandMeter.add),  # type: ignore[arg-type]
        "Welch spectrum": lambda: run(lambda: SpectrumMeter(RATE, 1), SpectrumMeter.add),  # type: ignore[arg-type]
        "features (STFT, mel, chroma, HPSS)": lambda: run(
            lambda: FeatureMeter(RATE),
            lambda m, x: m.add(x[0]),  # type: ignore[attr-defined]
        ),
        "waveform + spectrogram": lambda: run(
            lambda: (WaveformMeter(RATE), SpectrogramMeter(RATE, frames)),
            lambda m, x: [m[0].add(x[0]), m[1].add(x[0])],  # type: ignore[index]
        ),
    }


def print_stages(seconds: float) -> None:
    from threadpoolctl import threadpool_limits

    print(f"\nstages of the streaming pass, CPU time for {seconds:g} s of 48 kHz mono")
    print("(each run once to warm up, then timed; BLAS on one thread, as analyse() runs it)")
    for name, fn in stages(seconds).items():
        with threadpool_limits(limits=1):
            fn()
            start = time.process_time()
            fn()
            spent = time.process_time() - start
        print(f"  {name:38}{spent:7.2f} s  ({seconds / spent:5.0f}x real time)")


def compare(revision: str, rounds: int) -> None:
    seconds = 120.0
    with tempfile.TemporaryDirectory(prefix="noisebank-bench-") as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        tree = ["git", "-C", str(ROOT), "archive", revision, "noisebank", "bench"]
        archive = subprocess.run(tree, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        warm = write_recording(Path(tmp) / "warm.flac", 2.0, 1)
        path = write_recording(Path(tmp) / "recording.flac", seconds, 1)
        roots = {revision: old, "this tree": ROOT}
        cpu: dict[str, list[float]] = {name: [] for name in roots}
        for i in range(rounds):
            for name in list(roots)[:: 1 if i % 2 == 0 else -1]:
                cpu[name].append(measure("after", path, warm, roots[name])["cpu"])
    print(f"CPU time of the streaming path on {seconds:g} s of 48 kHz mono, {rounds} runs each")
    for name, times in cpu.items():
        median = statistics.median(times)
        runs = " ".join(f"{t:.2f}" for t in times)
        print(f"  {name:14} median {median:6.2f} s ({seconds / median:4.0f}x real time)  [{runs}]")
    ratio = statistics.median(cpu["this tree"]) / statistics.median(cpu[revision])
    print(f"  this tree takes {100 * ratio:.1f} % of {revision}'s CPU time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--long", action="store_true", help="also 24 h of 48 kHz mono")
    parser.add_argument("--before-minutes", type=float, default=1.0)
    parser.add_argument("--skip-stages", action="store_true")
    parser.add_argument("--against", metavar="REV", help="compare with a git revision's CPU time")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each with --against")
    args = parser.parse_args()
    if args.against:
        compare(args.against, args.rounds)
        return

    cases = [("1 min, 48 kHz mono", 60.0, 1), ("1 h, 48 kHz mono", 3600.0, 1)]
    cases.append(("1 h, 48 kHz stereo", 3600.0, 2))
    if args.long:
        cases.append(("24 h, 48 kHz mono", 86_400.0, 1))
    head = "peak RSS rise   CPU time    speed  (wall)"
    print(f"{'recording (16-bit FLAC)':24}{'before: ' + head:>50}{'after: ' + head:>50}")
    bytes_per_sample: float | None = None
    with tempfile.TemporaryDirectory(prefix="noisebank-bench-") as tmp:
        warm = write_recording(Path(tmp) / "warm.flac", 2.0, 1)
        for name, seconds, channels in cases:
            path = write_recording(Path(tmp) / f"{seconds:g}s-{channels}ch.flac", seconds, channels)
            before = None
            note = ""
            if seconds <= args.before_minutes * 60:
                before = measure("before", path, warm)
                bytes_per_sample = before["rise"] * 1e6 / (seconds * RATE * channels)
            elif bytes_per_sample is not None:
                predicted = bytes_per_sample * seconds * RATE * channels / 1e9
                note = f"not run: ≈ {predicted:.1f} GB at that rate"
            after = measure("after", path, warm)
            print(f"{name:24}{cell(before, seconds, note):>50}{cell(after, seconds):>50}")
            if before is not None:
                print(f"{'':24}{'LAeq ' + format(before['laeq'], '.3f'):>50}"
                      f"{'LAeq ' + format(after['laeq'], '.3f'):>50}")  # fmt: skip
            path.unlink()
    if not args.skip_stages:
        print_stages(60.0)


if __name__ == "__main__":
    main()
