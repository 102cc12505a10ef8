"""The streaming measurement: the same figures as the whole-array path, in bounded memory."""

from __future__ import annotations

import json
import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from noisebank.ingest import decode
from noisebank.ingest.analysis import Analysis, analyse
from noisebank.ingest.decode import GeneratedSource, open_audio
from noisebank.ingest.tests.golden_clips import (
    CLIPS,
    FEATURE_FIELDS,
    FREQUENCY_FIELDS,
    GOLDEN,
    LEVEL_FIELDS,
    summary,
    write_clip,
)
from noisebank.lib import synth

GOLDEN_VALUES = json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("name", list(CLIPS))
def test_streaming_gives_the_levels_of_the_whole_array_path(tmp_path: Path, name: str) -> None:
    expected = GOLDEN_VALUES[name]

    result = analyse(open_audio(write_clip(tmp_path, name)), calibration_offset_db=None)
    got = summary(result.levels, result.features)

    for field in LEVEL_FIELDS:
        assert got[field] == pytest.approx(expected[field], abs=0.02), field
    assert got["band_levels"].keys() == expected["band_levels"].keys()
    for band, level in expected["band_levels"].items():
        assert got["band_levels"][band] == pytest.approx(level, abs=0.05), band
    for field in FREQUENCY_FIELDS:
        assert got[field] == pytest.approx(expected[field], abs=0.01), field
    assert (got["peak_count"], got["event_count"]) == (
        expected["peak_count"],
        expected["event_count"],
    )
    assert got["event_durations_s"] == pytest.approx(expected["event_durations_s"], abs=0.011)
    for field in FEATURE_FIELDS:
        assert got["features"][field] == pytest.approx(expected["features"][field], rel=1e-6)
    assert got["mfcc"] == pytest.approx(expected["mfcc"], abs=0.01)
    assert got["chroma"] == pytest.approx(expected["chroma"], abs=1e-5)


def test_the_block_size_does_not_change_a_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Filter, averager, resampler and HPSS state carried over block edges at odd places."""
    x = synth.noise_bursts([(0.7, 0.4), (2.2, 1.1)], duration_s=4.0, background_rms=0.003,
                           burst_rms=0.03)  # fmt: skip
    stereo = np.column_stack([x, 0.7 * np.roll(x, 300)])

    whole = analyse((stereo, synth.SAMPLE_RATE), calibration_offset_db=None)
    monkeypatch.setattr(decode, "BLOCK_SAMPLES", 2 * 7_919)  # a prime number of frames
    blocks = analyse((stereo, synth.SAMPLE_RATE), calibration_offset_db=None)

    for field in LEVEL_FIELDS:
        assert getattr(blocks.levels, field) == pytest.approx(
            getattr(whole.levels, field), abs=1e-6
        )
    assert blocks.levels.band_levels == whole.levels.band_levels
    assert blocks.levels.event_durations_s == whole.levels.event_durations_s
    assert blocks.series == whole.series
    assert blocks.features.mfcc == pytest.approx(whole.features.mfcc, abs=1e-4)
    assert blocks.features.harmonic_ratio == pytest.approx(whole.features.harmonic_ratio, rel=1e-6)
    assert blocks.plots["waveform"]["max"] == pytest.approx(
        whole.plots["waveform"]["max"], abs=1e-4
    )


def generated(minutes: float, rate: int) -> GeneratedSource:
    frames = round(minutes * 60 * rate)
    return GeneratedSource(
        "generated",
        "FLOAT",
        rate,
        1,
        frames,
        make_blocks=lambda: synth.long_recording(minutes * 60, sample_rate=rate, block_s=5.0),
    )


def traced(source: GeneratedSource) -> tuple[float, Analysis]:
    """(peak traced memory in MB, the result) of measuring ``source``."""
    tracemalloc.start()
    try:
        result = analyse(source, calibration_offset_db=None)
        return tracemalloc.get_traced_memory()[1] / 1e6, result
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_length_of_the_recording() -> None:
    rate = 8_000
    analyse(generated(0.1, rate), calibration_offset_db=None)  # imports and caches first

    one_minute, _ = traced(generated(1, rate))
    ten_minutes, result = traced(generated(10, rate))

    # Ten minutes at 8 kHz are 38 MB of float64; the whole-array path held 60 bytes a sample.
    assert ten_minutes < 1.2 * one_minute
    assert ten_minutes < 38
    levels = result.levels
    # Two pass-bys of 20 s at +20 dB over a background near -50 dBFS (drifting ±2 dB).
    assert levels.event_count == 2
    assert levels.event_durations_s == pytest.approx([20.0] * 2, abs=0.5)
    assert -62 < levels.la90 < -54  # A-weighting takes about 7 dB off this pink background
    assert levels.lafmax > levels.la90 + 18
    assert len(result.series.laf_levels) == 2000
    assert result.series.level_times_s[-1] == pytest.approx(10 * 60, abs=1.0)
    assert len(result.plots["waveform"]["max"]) == 600
    assert result.features.duration_s == 10 * 60
    assert math.isfinite(result.features.spectral_centroid)
