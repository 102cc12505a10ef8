"""The clips of the streaming golden test, and how their reference values were made.

The reference values in ``golden/analysis_before_streaming.json`` were produced once by the
whole-array ``analyse()`` that decoded a file completely before measuring it (commit d8d9e97),
with ``python -m noisebank.ingest.tests.golden_clips`` run on that commit. The streaming path
must give the same levels within 0.02 dB (bands 0.05 dB) on the same files.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from noisebank.lib import synth

GOLDEN = Path(__file__).parent / "golden" / "analysis_before_streaming.json"


def _stereo_bell(rate: int) -> np.ndarray:
    bell = synth.crossing_bell(duration_s=15.0, sample_rate=rate)
    # A second microphone 1.5 dB lower and 20 ms later: both channels alive.
    return np.column_stack([bell, 0.84 * np.roll(bell, rate // 50)])


# name -> (file name, format, subtype, sample rate, signal maker)
CLIPS: dict[str, tuple[str, str, str, int, Callable[[int], np.ndarray]]] = {
    "wav": (
        "passby.wav",
        "WAV",
        "PCM_24",
        48_000,
        lambda rate: synth.train_passby(duration_s=20.0, sample_rate=rate),
    ),
    "flac": ("bell.flac", "FLAC", "PCM_16", 44_100, _stereo_bell),
    "ogg": ("horn.ogg", "OGG", "VORBIS", 48_000, lambda rate: synth.horn(duration_s=12.0)),
    "mp3": (
        "bursts.mp3",
        "MP3",
        "MPEG_LAYER_III",
        44_100,
        lambda rate: synth.noise_bursts(
            [(1.5, 1.0), (4.0, 0.1), (6.0, 2.0), (9.5, 0.6)],
            duration_s=12.0,
            background_rms=0.003,
            burst_rms=0.03,
            sample_rate=rate,
        ),
    ),
}

LEVEL_FIELDS = ("lzeq", "laeq", "lafmax", "lafmin", "la10", "la50", "la90", "mean_db", "std_db")
FREQUENCY_FIELDS = ("dominant_frequency_hz", "freq_low_hz", "freq_high_hz")
COUNT_FIELDS = ("peak_count", "event_count")
FEATURE_FIELDS = (
    "duration_s",
    "num_samples",
    "channels",
    "rms_energy",
    "zero_crossing_rate",
    "spectral_centroid",
    "spectral_bandwidth",
    "spectral_rolloff",
    "spectral_flatness",
    "harmonic_ratio",
    "percussive_ratio",
)


def write_clip(folder: Path, name: str) -> Path:
    filename, container, subtype, rate, make = CLIPS[name]
    path = folder / filename
    sf.write(path, make(rate), rate, format=container, subtype=subtype)
    return path


def summary(levels: Any, features: Any) -> dict[str, Any]:
    """The compared values of one analysis, JSON-ready."""
    out: dict[str, Any] = {
        f: getattr(levels, f) for f in (*LEVEL_FIELDS, *FREQUENCY_FIELDS, *COUNT_FIELDS)
    }
    out["event_durations_s"] = levels.event_durations_s
    out["band_levels"] = levels.band_levels
    out["features"] = {f: getattr(features, f) for f in FEATURE_FIELDS}
    out["mfcc"] = features.mfcc
    out["chroma"] = features.chroma
    return out


def _record(folder: Path) -> None:  # pragma: no cover - run once by hand, see the docstring
    from noisebank.ingest.analysis import analyse
    from noisebank.ingest.audio import load_audio

    values = {}
    for name in CLIPS:
        result = analyse(load_audio(write_clip(folder, name)), calibration_offset_db=None)
        values[name] = summary(result.levels, result.features)
    GOLDEN.write_text(json.dumps(values, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":  # pragma: no cover
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        _record(Path(tmp))
    sys.stdout.write(f"wrote {GOLDEN}\n")
