"""The calibrator check: a steady 1 kHz tone gives its level; anything else is refused with
what was measured. Signals are made here, never stored."""

import numpy as np
import pytest
from scipy.signal import chirp

from noisebank.ingest.calibrator import NotACalibratorTone, longest_steady, read_tone
from noisebank.ingest.decode import ArraySource
from noisebank.lib import synth

RATE = 48_000


def tone(
    level_dbfs: float, seconds: float = 8.0, rate: int = RATE, hz: float = 1000.0
) -> np.ndarray:
    noise = 1e-5 * np.random.default_rng(3).standard_normal(round(seconds * rate))
    x = synth.sine(hz, seconds, rms=synth.rms_for_dbfs(level_dbfs), sample_rate=rate, phase_rad=0.4)
    return x + noise


@pytest.mark.parametrize(
    ("nominal", "level_dbfs", "rate"),
    [(94.0, -26.0, 48_000), (114.0, -6.0, 48_000), (94.0, -37.3, 44_100), (114.0, -18.2, 16_000)],
)
def test_calibrator_tones_at_94_and_114_db_give_their_offset_exact_to_five_hundredths(
    nominal: float, level_dbfs: float, rate: int
) -> None:
    reading = read_tone(ArraySource.of(tone(level_dbfs, rate=rate), rate))
    assert reading.offset_db(nominal) == pytest.approx(nominal - level_dbfs, abs=0.05)
    assert reading.frequency_hz == pytest.approx(1000.0, abs=1.0)
    assert reading.steady_s == pytest.approx(8.0) and reading.steadiness_db < 0.01


def test_the_tone_is_measured_where_it_is_steady_not_while_the_calibrator_is_fitted() -> None:
    handling = 0.3 * np.random.default_rng(5).standard_normal(2 * RATE)  # pushed on: loud bumps
    x = np.concatenate([handling, tone(-26.0, seconds=5), handling[: RATE // 2]])
    reading = read_tone(ArraySource.of(x, RATE))
    assert reading.level_dbfs == pytest.approx(-26.0, abs=0.05)
    assert reading.steady_s == pytest.approx(5.0, abs=0.2)


def test_the_loudest_channel_is_the_one_judged() -> None:
    x = np.column_stack([1e-4 * np.random.default_rng(1).standard_normal(6 * RATE), tone(-20, 6)])
    reading = read_tone(ArraySource.of(x, RATE))
    assert reading.channel == 2 and reading.level_dbfs == pytest.approx(-20.0, abs=0.05)


def test_speech_like_noise_offered_as_a_calibrator_is_refused_with_what_was_measured() -> None:
    t = np.arange(6 * RATE) / RATE
    syllables = 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 2.5 * t))  # 5 syllables a second
    speech = 0.1 * syllables * np.random.default_rng(2).standard_normal(t.size)
    with pytest.raises(NotACalibratorTone) as refused:
        read_tone(ArraySource.of(speech, RATE))
    reason = refused.value.reason
    assert reason.startswith("This is not a steady 1,000 Hz calibrator tone")
    assert "steady within 0.2 dB for" in reason and "at least 3 s are needed" in reason
    assert "its frequency is" in reason and "1,000 Hz ± 1% is needed" in reason


def test_a_chirp_of_steady_level_is_refused_for_its_frequency() -> None:
    t = np.arange(6 * RATE) / RATE
    sweep = 0.1 * chirp(t, 200, 6, 4000)
    with pytest.raises(NotACalibratorTone, match=r"its frequency is 2,\d{3} Hz") as refused:
        read_tone(ArraySource.of(sweep, RATE))
    assert "steady within" not in refused.value.reason  # its level was steady: not a reason


def test_a_tone_two_percent_off_or_too_short_is_refused() -> None:
    with pytest.raises(NotACalibratorTone, match="its frequency is 1,020 Hz"):
        read_tone(ArraySource.of(tone(-20, 5, hz=1020.0), RATE))
    with pytest.raises(NotACalibratorTone, match=r"the recording is 2\.0 s long"):
        read_tone(ArraySource.of(tone(-20, 2), RATE))


def test_a_tone_with_too_much_noise_beside_it_is_refused_for_the_bias() -> None:
    x = tone(-20, 5) + synth.rms_for_dbfs(-30) * np.random.default_rng(4).standard_normal(5 * RATE)
    with pytest.raises(NotACalibratorTone, match=r"only 9\d% of its energy"):
        read_tone(ArraySource.of(x, RATE))


def test_the_longest_steady_run_is_found() -> None:
    levels = np.array([0.0, 5.0, 1.0, 1.1, 1.15, 0.95, 3.0, 3.1])
    assert longest_steady(levels, 0.2) == (2, 6)
    assert longest_steady(np.array([1.0]), 0.2) == (0, 1)
