"""How fast is the analysis of one recording, and where does the time go?

    .venv/bin/python bench/ingest_analysis.py [--repeat 3] [--durations 10 60] [--channels 1]

For each clip length (a synthetic train pass-by, 48 kHz, 24-bit WAV) it prints the best of
``--repeat`` runs of every stage, analyse() as a whole, and the multiple of real time. Then the
library paths our shortcuts replace, on the same clip, side by side; then the cold start of a
fresh worker process (imports, first call) and the peak memory of one analyse().
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from noisebank.ingest import analysis
from noisebank.ingest.audio import load_audio
from noisebank.lib import synth

SAMPLE_RATE = 48_000


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def clip(duration_s: float, channels: int) -> np.ndarray:
    mono = synth.train_passby(duration_s=duration_s)
    if channels == 1:
        return mono
    later = np.roll(mono, 4800)  # a second microphone a little further along the track
    return np.column_stack([mono, *([later] * (channels - 1))])


def stages(path: Path) -> dict[str, Callable[[], object]]:
    audio = load_audio(path)
    x = analysis.centred_channels(audio.samples)
    fs = audio.sample_rate
    return {
        "load (WAV 24-bit)": lambda: load_audio(path),
        "levels (A-weighting, LAF, stats)": lambda: analysis.time_levels(x, fs, 0.0),
        "bands (1/3 octave)": lambda: analysis.band_levels(x, fs, 0.0),
        "spectrum (Welch range)": lambda: analysis.spectrum_range(x, fs),
        "spectral features (librosa)": lambda: analysis.spectral_features(x, fs),
        "analyse() total": lambda: analysis.analyse(audio, calibration_offset_db=None),
        "load + analyse()": lambda: analysis.analyse(load_audio(path), calibration_offset_db=None),
    }


def alternatives(path: Path) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    import librosa
    import pyoctaveband as po

    audio = load_audio(path)
    x = analysis.centred_channels(audio.samples)
    fs = audio.sample_rate
    y = analysis._resampled(x.mean(axis=0, keepdims=True), fs, analysis.FEATURE_SAMPLE_RATE)[0]
    magnitude = np.abs(librosa.stft(y.astype(np.float32)))

    def direct_bands() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return po.octavefilter(x, fs, 3, 6, list(analysis.BAND_LIMITS_HZ), dbfs=True)

    return {
        "A-weighting": (
            lambda: analysis.a_weighted(x, fs),
            lambda: po.WeightingFilter(fs, "A").filter(x),
        ),
        "1/3-octave bands": (lambda: analysis.band_levels(x, fs, 0.0), direct_bands),
        "HPSS masks": (
            lambda: analysis.hpss_masks(magnitude),
            lambda: librosa.decompose.hpss(magnitude, mask=True),
        ),
    }


COLD_START = """
import time
start = time.perf_counter()
from noisebank.ingest.analysis import analyse
from noisebank.lib import synth
imported = time.perf_counter()
analyse((synth.sine(1000, 1.0, rms=0.1), 48000), calibration_offset_db=None)
first = time.perf_counter()
analyse((synth.sine(1000, 1.0, rms=0.1), 48000), calibration_offset_db=None)
second = time.perf_counter()
print(f"{imported - start:.2f} {first - imported:.2f} {second - first:.3f}")
"""


def cold_start() -> list[float]:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", COLD_START], cwd=root, capture_output=True, text=True, check=True
    )
    return [float(v) for v in out.stdout.split()]


def peak_memory_mb(path: Path) -> tuple[float, float]:
    audio = load_audio(path)
    tracemalloc.start()
    analysis.analyse(audio, calibration_offset_db=None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return audio.samples.nbytes / 1e6, peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--durations", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--skip-alternatives", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for duration in args.durations:
            paths[duration] = Path(tmp) / f"clip_{duration:g}s.wav"
            sf.write(paths[duration], clip(duration, args.channels), SAMPLE_RATE, "PCM_24")
        analysis.analyse(load_audio(paths[args.durations[0]]), calibration_offset_db=None)

        print(f"best (median) of {args.repeat} runs, {args.channels} channel(s) at 48 kHz")
        header = "".join(f"{f'{d:g} s clip':>24}" for d in args.durations)
        print(f"{'stage':34}{header}")
        rows: dict[str, list[str]] = {}
        totals: dict[float, float] = {}
        for duration, path in paths.items():
            for name, fn in stages(path).items():
                best, median = best_of(args.repeat, fn)
                cell = f"{best:7.3f} s ({median:6.3f})"
                if name == "analyse() total":
                    totals[duration] = best
                rows.setdefault(name, []).append(f"{cell:>24}")
        for name, cells in rows.items():
            print(f"{name:34}{''.join(cells)}")
        ratio = "".join(f"{f'{d / totals[d]:.0f}x real time':>24}" for d in args.durations)
        print(f"{'analyse() speed':34}{ratio}")

        if not args.skip_alternatives:
            longest = paths[max(args.durations)]
            print(f"\nour path vs the library path it replaces, {max(args.durations):g} s clip")
            for name, (ours, theirs) in alternatives(longest).items():
                ours_s, _ = best_of(args.repeat, ours)
                theirs_s, _ = best_of(args.repeat, theirs)
                print(f"{name:34}{ours_s:8.3f} s  vs {theirs_s:8.3f} s  ({theirs_s / ours_s:.1f}x)")

        imports, first, second = cold_start()
        print(f"\ncold worker: imports {imports:.2f} s, first analyse() of 1 s {first:.2f} s, ")
        print(f"             second {second:.3f} s (numba JIT and lazy imports on first use)")
        for duration, path in paths.items():
            samples_mb, peak_mb = peak_memory_mb(path)
            print(
                f"memory, {duration:g} s clip: samples {samples_mb:.0f} MB, "
                f"analyse() peak {peak_mb:.0f} MB (numpy allocations)"
            )


if __name__ == "__main__":
    main()
