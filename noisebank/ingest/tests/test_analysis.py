"""Acoustic correctness of noisebank.ingest.analysis, checked against IEC figures.

The simulated recorder has a calibration offset of 120 dB: 0 dBFS RMS would be 120 dB SPL, so
1 Pa RMS (93.98 dB SPL) is a sine of RMS 10**(-26.02 / 20).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import librosa
import numpy as np
import pyoctaveband as po
import pytest
import soundfile as sf

from noisebank.ingest.analysis import MAX_SERIES_POINTS, Levels, analyse
from noisebank.ingest.audio import load_audio
from noisebank.ingest.features import FeatureMeter, _zero_crossing_rates, hpss_masks
from noisebank.lib import synth
from noisebank.lib.bands import BAND_CENTRES

FS = 48_000
OFFSET_DB = 120.0
ONE_PASCAL = synth.rms_for_pascal(1.0, OFFSET_DB)

# IEC 61672-1:2013 Table 3: A-weighting (dB) and class 1 acceptance limits (+, -) at the
# exact base-10 1/3-octave frequencies 1000·10**(n/10) Hz, nominal 31.5 Hz to 8 kHz.
IEC_A_WEIGHTING_CLASS_1 = {
    31.5: (-39.4, 2.0, 2.0),
    40: (-34.6, 1.5, 1.5),
    50: (-30.2, 1.5, 1.5),
    63: (-26.2, 1.5, 1.5),
    80: (-22.5, 1.5, 1.5),
    100: (-19.1, 1.5, 1.5),
    125: (-16.1, 1.5, 1.5),
    160: (-13.4, 1.5, 1.5),
    200: (-10.9, 1.5, 1.5),
    250: (-8.6, 1.4, 1.4),
    315: (-6.6, 1.4, 1.4),
    400: (-4.8, 1.4, 1.4),
    500: (-3.2, 1.4, 1.4),
    630: (-1.9, 1.4, 1.4),
    800: (-0.8, 1.4, 1.4),
    1000: (0.0, 1.1, 1.1),
    1250: (0.6, 1.4, 1.4),
    1600: (1.0, 1.6, 1.6),
    2000: (1.2, 1.6, 1.6),
    2500: (1.3, 1.6, 1.6),
    3150: (1.2, 1.6, 1.6),
    4000: (1.0, 1.6, 1.6),
    5000: (0.5, 2.1, 2.1),
    6300: (-0.1, 2.1, 2.6),
    8000: (-1.1, 2.1, 3.1),
}


def exact_frequency(nominal_hz: float) -> float:
    return 1000 * 10 ** (round(10 * math.log10(nominal_hz / 1000)) / 10)


def a_weighting_formula_db(f: float) -> float:
    """IEC 61672-1 Annex E, normalised to 0 dB at 1 kHz."""

    def response(f: float) -> float:
        f1, f2, f3, f4 = 20.598997, 107.65265, 737.86223, 12194.217
        return (f4**2 * f**4) / (
            (f**2 + f1**2) * math.sqrt((f**2 + f2**2) * (f**2 + f3**2)) * (f**2 + f4**2)
        )

    return 20 * math.log10(response(f) / response(1000.0))


def calibrated(x: np.ndarray) -> tuple[np.ndarray, int]:
    return x, FS


def levels_of(x: np.ndarray, offset_db: float | None = None, rate: int = FS) -> Levels:
    levels = analyse((x, rate), calibration_offset_db=offset_db).levels
    assert levels is not None
    return levels


def test_1khz_sine_at_1_pa_reads_94_db_laeq() -> None:
    levels = analyse(
        calibrated(synth.sine(1000, 2, rms=ONE_PASCAL)), calibration_offset_db=OFFSET_DB
    ).levels

    assert levels.unit == "dB SPL"
    assert levels.laeq == pytest.approx(94.0, abs=0.1)
    assert levels.lzeq == pytest.approx(93.98, abs=0.01)
    assert levels.lafmax == pytest.approx(93.98, abs=0.05)
    assert levels.lafmin == pytest.approx(93.98, abs=0.05)


def test_100hz_sine_at_1_pa_reads_74_9_db_laeq() -> None:
    levels = analyse(
        calibrated(synth.sine(100, 2, rms=ONE_PASCAL)), calibration_offset_db=OFFSET_DB
    ).levels

    assert levels.laeq == pytest.approx(74.9, abs=0.3)
    assert levels.lzeq == pytest.approx(93.98, abs=0.01)


def test_94_db_for_1_s_then_74_db_for_4_s_gives_la10_94_and_la90_74() -> None:
    x = synth.level_steps([(1.0, 94.0), (4.0, 74.0)], calibration_offset_db=OFFSET_DB)

    levels = analyse(calibrated(x), calibration_offset_db=OFFSET_DB).levels

    assert levels.la10 == pytest.approx(94.0, abs=0.2)
    assert levels.la50 == pytest.approx(74.0, abs=0.2)
    assert levels.la90 == pytest.approx(74.0, abs=0.2)
    assert levels.lafmax == pytest.approx(94.0, abs=0.1)
    assert levels.lafmin == pytest.approx(74.0, abs=0.1)
    energy_mean = 10 * math.log10((1 * 10**9.4 + 4 * 10**7.4) / 5)  # 87.18 dB
    assert levels.laeq == pytest.approx(energy_mean, abs=0.05)


@pytest.mark.parametrize("nominal_hz", list(IEC_A_WEIGHTING_CLASS_1))
def test_a_weighting_is_within_iec_61672_class_1(nominal_hz: float) -> None:
    expected, plus, minus = IEC_A_WEIGHTING_CLASS_1[nominal_hz]
    x = synth.sine(exact_frequency(nominal_hz), 1.0, rms=ONE_PASCAL)

    laeq = levels_of(x, OFFSET_DB).laeq

    deviation = laeq - (20 * math.log10(1 / 20e-6) + expected)
    assert -minus <= deviation <= plus


@pytest.mark.parametrize("nominal_hz", [31.5, 63, 125, 250, 500, 2000, 4000, 8000, 12500, 16000])
def test_a_weighting_follows_the_iec_formula_closely(nominal_hz: float) -> None:
    """Much tighter than class 1: what running the filter at 192 kHz buys (see a_weighted).

    4 s of sine, because the filter's start transient adds 0.09 dB to 1 s at 31.5 Hz.
    """
    f = exact_frequency(nominal_hz)
    x = synth.sine(f, 4.0, rms=ONE_PASCAL)

    laeq = levels_of(x, OFFSET_DB).laeq

    tolerance = 0.05 if f < 9000 else 0.3
    assert laeq - 93.98 == pytest.approx(a_weighting_formula_db(f), abs=tolerance)


@pytest.mark.parametrize("nominal", ["31.5", "125", "1000", "4000", "16000"])
def test_a_sine_peaks_in_its_own_third_octave_band(nominal: str) -> None:
    # 5 s: the 31.5 Hz band filter takes long to ring up, costing 0.42 dB on 2 s, 0.15 on 5 s.
    x = synth.sine(exact_frequency(float(nominal)), 5.0, rms=ONE_PASCAL)

    bands = levels_of(x, OFFSET_DB).band_levels

    assert max(bands, key=bands.__getitem__) == nominal
    assert bands[nominal] == pytest.approx(93.98, abs=0.2)
    others = [level for key, level in bands.items() if key != nominal]
    assert max(others) < bands[nominal] - 10


def test_band_levels_cover_25_hz_to_20_khz_below_nyquist() -> None:
    x = synth.pink_noise(1.0, rms=0.1)

    # The keys are the bands the export columns are named after (band_25 ... band_20000).
    assert list(levels_of(x).band_levels) == BAND_CENTRES
    at_44k1 = levels_of(x[:44_100], rate=44_100).band_levels
    assert list(at_44k1)[-1] == "16000"  # the 20 kHz band's upper edge is above 22.05 kHz


@pytest.mark.parametrize(("rate", "top_band"), [(8000, "3150"), (11_025, "4000"), (22_050, "8000")])
def test_low_rate_recordings_are_measured_up_to_their_nyquist_frequency(
    rate: int, top_band: str
) -> None:
    x = synth.sine(1000, 2.0, rms=0.1, sample_rate=rate)

    levels = analyse((x, rate), calibration_offset_db=None).levels

    assert list(levels.band_levels)[-1] == top_band
    assert levels.band_levels["1000"] == pytest.approx(-20.0, abs=0.1)
    assert levels.laeq == pytest.approx(-20.0, abs=0.05)


def test_band_levels_match_pyoctaveband_without_the_decimation_shortcut() -> None:
    x = synth.pink_noise(3.0, rms=0.05, seed=7)

    ours = levels_of(x).band_levels
    direct, labels = po.octavefilter(x, FS, 3, 6, [25, 20000], dbfs=True, nominal=True)

    assert len(ours) == len(labels) == 30
    for level, value in zip(ours.values(), direct, strict=True):
        assert level == pytest.approx(value, abs=0.05)


def test_percentiles_agree_with_pyoctaveband_ln_levels() -> None:
    x = synth.level_steps([(1.0, -30.0), (2.0, -20.0), (2.0, -40.0)])

    ours = levels_of(x)
    theirs = po.ln_levels(x, FS, n=(10, 50, 90), mode="fast", weighting="A", dbfs=True)

    assert (ours.la10, ours.la50, ours.la90) == pytest.approx(
        (theirs[10], theirs[50], theirs[90]), abs=0.05
    )
    assert (ours.la10, ours.la50, ours.la90) == pytest.approx((-20.0, -30.0, -40.0), abs=0.1)


def test_same_levels_from_wav_16_bit_flac_and_float_wav(tmp_path: Path) -> None:
    x = synth.pink_noise(3.0, rms=0.05, seed=3) + synth.sine(440, 3.0, rms=0.02)
    results = []
    for name, subtype in (("a.wav", "PCM_16"), ("a.flac", "PCM_16"), ("f.wav", "FLOAT")):
        sf.write(tmp_path / name, x, FS, subtype=subtype)
        results.append(analyse(load_audio(tmp_path / name), calibration_offset_db=OFFSET_DB).levels)

    reference = results[0]
    for levels in results[1:]:
        for field in ("lzeq", "laeq", "lafmax", "lafmin", "la10", "la50", "la90", "mean_db"):
            assert getattr(levels, field) == pytest.approx(getattr(reference, field), abs=0.05)
        for band, level in levels.band_levels.items():
            assert level == pytest.approx(reference.band_levels[band], abs=0.05)


def test_uncalibrated_input_is_reported_in_dbfs() -> None:
    full_scale = synth.sine(1000, 1.0, rms=math.sqrt(0.5))

    result = analyse(calibrated(full_scale), calibration_offset_db=None)

    assert result.levels.unit == "dBFS"
    assert result.levels.lzeq == pytest.approx(-3.01, abs=0.01)
    assert result.levels.laeq == pytest.approx(-3.01, abs=0.02)
    assert result.features.rms_energy == pytest.approx(0.7071, abs=1e-4)


def test_a_calibration_offset_shifts_every_level_and_nothing_else() -> None:
    x = synth.horn()

    raw = analyse(calibrated(x), calibration_offset_db=None)
    spl = analyse(calibrated(x), calibration_offset_db=100.0)

    for field in ("lzeq", "laeq", "lafmax", "lafmin", "la10", "la50", "la90", "mean_db"):
        assert getattr(spl.levels, field) == pytest.approx(getattr(raw.levels, field) + 100.0)
    assert spl.levels.std_db == pytest.approx(raw.levels.std_db)
    assert spl.levels.band_levels["315"] == pytest.approx(raw.levels.band_levels["315"] + 100.0)
    assert spl.series.laf_levels[5] == pytest.approx(raw.series.laf_levels[5] + 100.0)
    assert spl.levels.peak_count == raw.levels.peak_count == 3
    assert spl.features == raw.features


def test_events_and_peaks_are_found_on_known_bursts() -> None:
    bursts = [(1.5, 1.0), (4.0, 0.1), (6.0, 2.0)]
    x = synth.noise_bursts(bursts, duration_s=10.0, background_rms=0.003, burst_rms=0.03)

    result = analyse(calibrated(x), calibration_offset_db=None)
    levels = result.levels

    # 20 dB bursts: above LA90 + 10 dB for the burst plus the Fast decay of 10 dB (0.29 s).
    # The 0.1 s burst is too short to be an event, but it is a peak.
    assert levels.event_count == 2
    assert levels.event_durations_s == pytest.approx([1.29, 2.29], abs=0.05)
    assert levels.peak_count == 3
    # The level series keeps the maximum of each interval: the bursts stand out where they are.
    series = dict(zip(result.series.level_times_s, result.series.laf_levels, strict=True))
    for start, length in bursts:
        during = [v for t, v in series.items() if start <= t <= start + length]
        assert max(during) > levels.la90 + 15
    background = synth.pink_noise(10.0, rms=0.003)
    background_laeq = levels_of(background).laeq
    assert levels.la90 == pytest.approx(background_laeq, abs=0.5)


def test_steady_sound_has_no_events_and_no_peaks() -> None:
    levels = analyse(calibrated(synth.pink_noise(4.0, rms=0.05)), calibration_offset_db=None).levels

    assert levels.event_count == 0
    assert levels.peak_count == 0
    assert levels.peak_interval_mean_s is None
    assert levels.std_db < 0.5


def test_dominant_frequency_and_the_band_holding_90_percent_of_the_energy() -> None:
    x = synth.sine(200, 2.0, rms=0.1) + synth.sine(2000, 2.0, rms=0.1)

    levels = analyse(calibrated(x), calibration_offset_db=None).levels

    assert levels.dominant_frequency_hz in (pytest.approx(200, abs=6), pytest.approx(2000, abs=6))
    # Two bins of the 5.9 Hz Welch resolution: a windowed tone leaks into its neighbours.
    assert levels.freq_low_hz == pytest.approx(200, abs=12)
    assert levels.freq_high_hz == pytest.approx(2000, abs=12)


def test_live_channels_are_energy_averaged() -> None:
    mono = synth.sine(1000, 1.0, rms=0.1)

    same = levels_of(np.column_stack([mono, mono]))
    apart = levels_of(np.column_stack([mono, 0.6 * mono]))  # 4.4 dB apart: both alive

    assert same.laeq == pytest.approx(-20.0, abs=0.02)
    assert apart.laeq == pytest.approx(10 * math.log10((0.01 + 0.0036) / 2), abs=0.02)
    assert apart.band_levels["1000"] == pytest.approx(apart.laeq, abs=0.2)


def test_plot_series_is_capped_and_follows_the_fast_level() -> None:
    x = synth.level_steps([(20.0, -30.0), (20.0, -50.0)])

    result = analyse(calibrated(x), calibration_offset_db=None)
    series = result.series

    assert len(series.level_times_s) == len(series.laf_levels) <= MAX_SERIES_POINTS
    assert np.all(np.diff(series.level_times_s) > 0)
    assert series.laf_levels[0] == pytest.approx(-30.0, abs=0.05)
    assert series.laf_levels[-1] == pytest.approx(-50.0, abs=0.05)
    assert max(series.laf_levels) == pytest.approx(result.levels.lafmax, abs=0.05)


def test_spectral_features_of_a_1khz_sine() -> None:
    features = analyse(
        calibrated(synth.sine(1000, 2.0, rms=0.1)), calibration_offset_db=None
    ).features

    assert (features.duration_s, features.sample_rate, features.num_samples) == (2.0, FS, 96_000)
    assert features.spectral_centroid == pytest.approx(1000, rel=0.05)
    assert features.spectral_rolloff == pytest.approx(1000, rel=0.05)
    assert features.spectral_flatness < 0.01
    assert features.zero_crossing_rate == pytest.approx(2000 / 22_050, rel=0.02)
    assert features.harmonic_ratio > 0.95
    assert len(features.mfcc) == 13
    assert len(features.chroma) == 12
    assert int(np.argmax(features.chroma)) == 11  # 1 kHz sits between B5 and C6, nearer B


def test_clicks_are_percussive_and_horns_harmonic() -> None:
    # Over a recorder's self-noise (-90 dBFS): clicks in digital silence would be "no signal".
    clicks = synth.pink_noise(3.0, rms=3e-5)
    clicks[:: FS // 4] = 0.5

    click_features = analyse(calibrated(clicks), calibration_offset_db=None).features
    horn_features = analyse(
        calibrated(synth.horn(duration_s=3.0)), calibration_offset_db=None
    ).features

    assert click_features.percussive_ratio > 0.8
    assert horn_features.harmonic_ratio > 0.9
    assert click_features.harmonic_ratio + click_features.percussive_ratio == pytest.approx(1.0)


def test_fast_hpss_masks_equal_librosa() -> None:
    y = synth.crossing_bell(duration_s=1.0, sample_rate=22_050)
    magnitude = np.abs(librosa.stft(y.astype(np.float32)))

    ours = hpss_masks(magnitude)
    theirs = librosa.decompose.hpss(magnitude, mask=True)

    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], atol=1e-6)


def test_silence_gives_json_ready_results_without_levels() -> None:
    result = analyse((np.zeros((FS, 2)), FS), calibration_offset_db=None)

    json.dumps(asdict(result), allow_nan=False)
    assert result.signal.no_signal and result.levels is None
    assert result.features.rms_energy == 0.0
    assert result.features.duration_s == 1.0 and result.features.spectral_centroid is None


def test_spectral_features_and_zero_crossings_equal_librosas_own_functions() -> None:
    y = synth.crossing_bell(duration_s=1.0, sample_rate=22_050).astype(np.float32)
    y[2000:4000] = 0.0  # silent frames: a zero spectrum and no crossings
    magnitude = np.abs(librosa.stft(y, center=False))
    meter = FeatureMeter(22_050)

    meter._spectral(magnitude)
    count = magnitude.shape[1]

    sr = 22_050
    centroid = librosa.feature.spectral_centroid(S=magnitude, sr=sr)
    theirs = {
        "centroid": centroid.sum(dtype=np.float64),
        "bandwidth": librosa.feature.spectral_bandwidth(
            S=magnitude, sr=sr, centroid=centroid
        ).sum(),
        "rolloff": librosa.feature.spectral_rolloff(S=magnitude, sr=sr).sum(),
        "flatness": librosa.feature.spectral_flatness(S=magnitude).sum(dtype=np.float64),
    }
    assert meter.sums == pytest.approx(theirs, rel=1e-12)
    chroma = librosa.feature.chroma_stft(S=magnitude**2, sr=sr, tuning=0.0)
    assert meter.chroma == pytest.approx(chroma.sum(axis=1, dtype=np.float64), rel=1e-12)
    zcr = librosa.feature.zero_crossing_rate(y, center=False)[0]
    np.testing.assert_array_equal(_zero_crossing_rates(y, count), zcr)
