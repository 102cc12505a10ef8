"""The synthetic signals are what the acoustic tests and the demo data stand on."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from noisebank.lib import synth

FS = synth.SAMPLE_RATE


def rms(x: np.ndarray) -> float:
    return math.sqrt(float(np.mean(x**2)))


def test_one_pascal_on_a_120_db_recorder_is_26_dbfs_below_full_scale() -> None:
    x = synth.sine(1000, 1.0, rms=synth.rms_for_pascal(1.0, 120.0))

    assert 20 * math.log10(rms(x)) == pytest.approx(93.98 - 120.0, abs=0.005)
    assert np.abs(x).max() == pytest.approx(math.sqrt(2) * rms(x), rel=1e-6)


def test_level_steps_hold_each_level_for_its_duration() -> None:
    x = synth.level_steps([(1.0, 94.0), (0.5, 74.0)], calibration_offset_db=120.0)

    assert x.size == 72_000
    assert 20 * math.log10(rms(x[:48_000])) + 120 == pytest.approx(94.0, abs=0.01)
    assert 20 * math.log10(rms(x[48_000:])) + 120 == pytest.approx(74.0, abs=0.01)


def test_pink_noise_has_equal_energy_per_octave() -> None:
    x = synth.pink_noise(10.0, rms=0.1)
    frequencies, psd = signal.welch(x, FS, nperseg=8192)

    def octave(low: float) -> float:
        return float(psd[(frequencies >= low) & (frequencies < 2 * low)].sum())

    assert rms(x) == pytest.approx(0.1)
    assert 10 * math.log10(octave(125) / octave(2000)) == pytest.approx(0.0, abs=0.5)


def test_same_seed_same_sound_other_seed_other_sound() -> None:
    first = synth.station_ambience(duration_s=2.0, seed=4)

    assert np.array_equal(first, synth.station_ambience(duration_s=2.0, seed=4))
    assert not np.array_equal(first, synth.station_ambience(duration_s=2.0, seed=5))


@pytest.mark.parametrize("name", list(synth.DEMO_SOUNDS))
def test_demo_sounds_are_clean_48_khz_recordings(name: str) -> None:
    x = synth.DEMO_SOUNDS[name]()

    assert 4 * FS <= x.size <= 15 * FS
    assert np.isfinite(x).all()
    assert np.abs(x).max() < 0.9  # no clipping once written as PCM


def test_the_train_tone_drops_in_pitch_as_the_train_passes() -> None:
    x = synth.train_passby()

    def tone_hz(start_s: float, end_s: float) -> float:
        part = x[round(start_s * FS) : round(end_s * FS)]
        frequencies, psd = signal.welch(part, FS, nperseg=16_384)
        near = (frequencies > 500) & (frequencies < 750)
        return float(frequencies[near][np.argmax(psd[near])])

    # 620 Hz at 30 m/s: about 678 Hz while approaching, 575 Hz while receding.
    assert tone_hz(0.5, 2.5) == pytest.approx(675, abs=8)
    assert tone_hz(12.0, 14.0) == pytest.approx(578, abs=10)
