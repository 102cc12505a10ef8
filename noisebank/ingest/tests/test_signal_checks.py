"""Silence, clipping, DC offset and dead channels: each gives its flag (issue 15, part 4)."""

from __future__ import annotations

import numpy as np
import pytest

from noisebank.ingest.analysis import Analysis, analyse
from noisebank.lib import synth

FS = 48_000
TONE = synth.sine(1000, 2.0, rms=0.1)  # -20 dBFS


def measured(x: np.ndarray, offset_db: float | None = None) -> Analysis:
    return analyse((x, FS), calibration_offset_db=offset_db)


@pytest.mark.parametrize(
    "silence",
    [
        np.zeros(2 * FS),  # all zeros
        np.full(2 * FS, 0.25),  # a constant: a DC offset and nothing else
        np.concatenate([TONE[: FS // 200], np.zeros(2 * FS - FS // 200)]),  # 99.5 % zeros
        1e-7 * np.random.default_rng(1).standard_normal(2 * FS),  # -140 dBFS of noise
    ],
    ids=["zeros", "constant", "a blip in silence", "below -120 dBFS"],
)
def test_digital_silence_is_no_signal_and_gets_no_levels(silence: np.ndarray) -> None:
    result = measured(silence, offset_db=120.0)

    assert result.signal.no_signal
    assert result.levels is None
    assert result.series.laf_levels == [] and result.plots == {}
    assert result.features.duration_s == 2.0
    assert result.features.spectral_centroid is None and result.features.mfcc == []


def test_a_quiet_recording_is_still_a_signal() -> None:
    result = measured(synth.pink_noise(2.0, rms=1e-4))  # -80 dBFS: quiet, not silent

    assert not result.signal.no_signal
    assert result.levels is not None and result.levels.lzeq == pytest.approx(-80.0, abs=0.05)


def test_clipped_samples_are_counted_and_flag_the_recording() -> None:
    clean = measured(TONE)
    # A sine driven 6 dB past full scale, clipped by the recorder: two thirds of it at ±1
    # (|2 sin| >= 1 from 30° to 150°; a little more with 48 samples a cycle).
    clipped = measured(np.clip(2 * TONE / TONE.max(), -1.0, 1.0))
    # A loud but clean sine peaking 0.1 dB below full scale is not clipped.
    near = measured(TONE / TONE.max() * 10 ** (-0.1 / 20))

    assert clean.signal.clipped_share == 0.0 and not clean.signal.clipped
    assert clipped.signal.clipped_share == pytest.approx(2 / 3, abs=0.05)
    assert clipped.signal.clipped
    assert near.signal.clipped_share == 0.0


def test_a_dc_offset_is_measured_flagged_and_kept_out_of_the_levels() -> None:
    plain = measured(TONE)
    offset = measured(np.column_stack([TONE + 0.05, TONE - 0.0002]))

    assert offset.signal.dc_offset == pytest.approx(0.05, abs=1e-6)
    assert offset.signal.dc and not plain.signal.dc
    assert plain.levels is not None and offset.levels is not None
    assert offset.levels.laeq == pytest.approx(plain.levels.laeq, abs=0.01)
    assert offset.levels.lzeq == pytest.approx(plain.levels.lzeq, abs=0.01)


def test_a_dead_channel_is_flagged_and_the_levels_come_from_the_live_one() -> None:
    hum = 1e-4 * synth.sine(50, 2.0, rms=1.0)  # a dead microphone's cable hum
    result = measured(np.column_stack([hum, TONE]), offset_db=100.0)

    signal = result.signal
    assert signal.dead_channels == [1] and signal.level_channels == [2]
    assert signal.channel_laeq[1] == pytest.approx(80.0, abs=0.05)
    assert signal.channel_laeq[0] < 40
    assert result.levels is not None
    assert result.levels.laeq == pytest.approx(80.0, abs=0.05)  # not 77 dB, the mean of both
    assert result.levels.band_levels["1000"] == pytest.approx(80.0, abs=0.2)
    assert max(result.series.laf_levels) == pytest.approx(80.0, abs=0.1)
    assert result.features.channels == 2


def test_channels_within_6_db_are_all_alive() -> None:
    result = measured(np.column_stack([TONE, 0.56 * TONE, 0.7 * TONE]))  # 5.0 and 3.1 dB down

    assert result.signal.dead_channels == []
    assert result.signal.level_channels == [1, 2, 3]
    assert result.signal.channel_laeq == pytest.approx([-20.0, -25.04, -23.1], abs=0.02)
