"""The measuring path before it streamed (commit d8d9e97), kept only to be benchmarked against.

``worker_path(path)`` is what the worker did: decode the whole file into float64, ``analyse()``
the whole array, then make the plot data from the whole array again. Not used by the app.

Its definitions are those of ``noisebank/ingest/analysis.py`` at that commit.
"""

from __future__ import annotations

import base64
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import pyoctaveband as po
import soundfile as sf
import soxr
from scipy import ndimage, signal

from noisebank.ingest.audio import LoadedAudio
from noisebank.ingest.plots import (
    SPECTROGRAM_MIN_HZ,
    SPECTROGRAM_RANGE_DB,
    SPECTROGRAM_SIZE,
    WAVEFORM_COLUMNS,
    indexed_png,
    palette,
)

FAST_TIME_CONSTANT_S = 0.125
READING_INTERVAL_S = 0.01
MAX_SERIES_POINTS = 2000
PEAK_PROMINENCE_DB = 6.0
PEAK_MIN_SPACING_S = 0.25
EVENT_MARGIN_DB = 10.0
EVENT_MIN_DURATION_S = 0.5
BAND_LIMITS_HZ = (25.0, 20_000.0)
SPECTRUM_MIN_HZ = 20.0
ENERGY_RANGE = (0.05, 0.95)
FEATURE_SAMPLE_RATE = 22_050
FRAME_LENGTH = 2048
HOP_LENGTH = 512
HPSS_KERNEL = 31

_A_WEIGHTING_RATE_HZ = 192_000
_A_WEIGHTING_BLOCK_S = 10.0
_MAX_DECIMATION_STEPS = 8  # pyoctaveband also stops decimating at a factor of 500 (2**8 < 500)
_BAND_HEADROOM = 1.25  # pyoctaveband's margin between a band's upper edge and Nyquist
_MIN_MEAN_SQUARE = float(np.finfo(float).eps)  # -156.5 dBFS, pyoctaveband's floor


@dataclass(frozen=True)
class Features:
    duration_s: float
    sample_rate: int
    num_samples: int
    channels: int
    rms_energy: float
    zero_crossing_rate: float
    spectral_centroid: float
    spectral_bandwidth: float
    spectral_rolloff: float
    spectral_flatness: float
    harmonic_ratio: float
    percussive_ratio: float
    mfcc: list[float]
    chroma: list[float]


@dataclass(frozen=True)
class Levels:
    unit: str
    lzeq: float
    laeq: float
    lafmax: float
    lafmin: float
    la10: float
    la50: float
    la90: float
    mean_db: float
    max_db: float
    min_db: float
    std_db: float
    dominant_frequency_hz: float
    freq_low_hz: float
    freq_high_hz: float
    peak_count: int
    peak_interval_mean_s: float | None
    event_count: int
    event_durations_s: list[float]
    band_levels: dict[str, float]


@dataclass(frozen=True)
class LevelSeries:
    """The LAF for plots: the maximum of each interval, at most ``MAX_SERIES_POINTS`` points."""

    level_times_s: list[float]
    laf_levels: list[float]


@dataclass(frozen=True)
class Analysis:
    features: Features
    levels: Levels
    series: LevelSeries


@dataclass(frozen=True)
class TimeLevels:
    """The level statistics over time, in the unit of the offset that produced them."""

    lzeq: float
    laeq: float
    lafmax: float
    lafmin: float
    la10: float
    la50: float
    la90: float
    mean_db: float
    std_db: float
    peak_times_s: list[float]
    event_durations_s: list[float]
    series: LevelSeries


def analyse(
    audio: LoadedAudio | tuple[np.ndarray, int], *, calibration_offset_db: float | None
) -> Analysis:
    """Measure a recording; levels in dB SPL if a calibration offset is given, else dBFS."""
    samples, sample_rate = (
        (audio.samples, audio.sample_rate) if isinstance(audio, LoadedAudio) else audio
    )
    x = centred_channels(samples)
    offset = 0.0 if calibration_offset_db is None else calibration_offset_db
    over_time = time_levels(x, sample_rate, offset)
    dominant, low, high = spectrum_range(x, sample_rate)
    peaks = over_time.peak_times_s
    levels = Levels(
        unit="dBFS" if calibration_offset_db is None else "dB SPL",
        lzeq=over_time.lzeq,
        laeq=over_time.laeq,
        lafmax=over_time.lafmax,
        lafmin=over_time.lafmin,
        la10=over_time.la10,
        la50=over_time.la50,
        la90=over_time.la90,
        mean_db=over_time.mean_db,
        max_db=over_time.lafmax,
        min_db=over_time.lafmin,
        std_db=over_time.std_db,
        dominant_frequency_hz=dominant,
        freq_low_hz=low,
        freq_high_hz=high,
        peak_count=len(peaks),
        peak_interval_mean_s=round(float(np.mean(np.diff(peaks))), 3) if len(peaks) > 1 else None,
        event_count=len(over_time.event_durations_s),
        event_durations_s=over_time.event_durations_s,
        band_levels=band_levels(x, sample_rate, offset),
    )
    return Analysis(spectral_features(x, sample_rate), levels, over_time.series)


def centred_channels(samples: np.ndarray) -> np.ndarray:
    """(frames,) or (frames, channels) samples as float64 (channels, frames) without DC."""
    x = np.asarray(samples, dtype=np.float64)
    x = x[:, np.newaxis] if x.ndim == 1 else x
    return np.ascontiguousarray((x - x.mean(axis=0)).T)


def a_weighted(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """A-weight each row of ``x`` with pyoctaveband's IEC 61672-1 filter.

    Its bilinear design bends the curve near Nyquist, so it is run at 192 kHz or more.
    pyoctaveband's own ``high_accuracy`` path oversamples a 48 kHz signal only to 96 kHz (with
    resample_poly): 0.11 dB low at 8 kHz, 1.08 dB low at 16 kHz, +0.008 dB at 1 kHz. Through
    soxr at 192 kHz: 0.03 dB and 0.26 dB low, 0.000 dB at 1 kHz, in the same time (0.18 s per
    minute of audio). Streaming 10 s blocks gives the same samples as one pass while keeping
    the oversampled copy small.
    """
    factor = min(8, max(1, math.ceil(_A_WEIGHTING_RATE_HZ / sample_rate)))
    high_rate = sample_rate * factor
    design = po.WeightingFilter(high_rate, "A", stateful=True, high_accuracy=False)
    if factor == 1:
        return design.filter(x)
    channels, frames = x.shape
    up = soxr.ResampleStream(sample_rate, high_rate, channels, dtype="float64")
    down = soxr.ResampleStream(high_rate, sample_rate, channels, dtype="float64")
    out = np.empty_like(x)
    done = 0
    block = round(_A_WEIGHTING_BLOCK_S * sample_rate)
    for start in range(0, frames, block):
        last = start + block >= frames
        high = up.resample_chunk(np.ascontiguousarray(x[:, start : start + block].T), last=last)
        weighted = design.filter(np.ascontiguousarray(high.T))
        low = down.resample_chunk(np.ascontiguousarray(weighted.T), last=last)
        out[:, done : done + len(low)] = low.T
        done += len(low)
    return out[:, :done]


def time_levels(x: np.ndarray, sample_rate: int, offset_db: float) -> TimeLevels:
    weighted = a_weighted(x, sample_rate)
    laf = fast_level(weighted, sample_rate) + offset_db
    # pyoctaveband's ln_levels would weight and time-weight the signal again, per channel;
    # these are the same percentiles (checked in the tests) of the level already at hand.
    la10, la50, la90 = (float(v) for v in np.percentile(laf, [90, 50, 10]))
    step = max(1, round(READING_INTERVAL_S * sample_rate))
    readings = laf[::step]
    times = step * np.arange(readings.size) / sample_rate
    return TimeLevels(
        lzeq=_energy_mean_db(po.leq(x, dbfs=True)) + offset_db,
        laeq=_energy_mean_db(po.leq(weighted, dbfs=True)) + offset_db,
        lafmax=float(laf.max()),
        lafmin=float(laf.min()),
        la10=la10,
        la50=la50,
        la90=la90,
        mean_db=float(laf.mean()),
        std_db=float(laf.std()),
        peak_times_s=_peak_times(readings, times, step / sample_rate),
        event_durations_s=_event_durations(readings, la90 + EVENT_MARGIN_DB, step / sample_rate),
        series=_plot_series(readings, times),
    )


def fast_level(weighted: np.ndarray, sample_rate: int) -> np.ndarray:
    """The Fast-weighted level in dBFS at every sample, energy-averaged over channels.

    The averager starts from the mean square of the first 125 ms, as if the meter had been
    running before the recording began; started from silence it would read low for the first
    quarter second and bias every statistic of a short clip.
    """
    head = weighted[:, : max(1, round(FAST_TIME_CONSTANT_S * sample_rate))]
    envelope = po.time_weighting(
        weighted, sample_rate, mode="fast", initial_state=np.mean(head**2, axis=1)
    )
    return _db(envelope.mean(axis=0))


def band_levels(x: np.ndarray, sample_rate: int, offset_db: float) -> dict[str, float]:
    """1/3-octave band Leq, keyed by nominal centre frequency ("31.5", "1000", ...).

    pyoctaveband decimates the whole signal once per band with resample_poly: 1.5-2 s per
    minute at 48 kHz, the slowest stage. Handing it signals already decimated by soxr, an
    octave at a time, gives the same levels within 0.01 dB in 0.3 s (see bench/).
    """
    centres, upper, labels = _third_octave_bands()
    levels_by_label: dict[str, float] = {}
    y, y_rate = x, sample_rate
    groups = _band_groups(centres, upper, labels, sample_rate)
    for rate, group in sorted(groups.items(), reverse=True):
        y, y_rate = _resampled(y, y_rate, rate), rate  # halving the last rate is the cheapest
        # pyoctaveband takes the bands from the one nearest limits[0] up to the first whose
        # upper edge passes limits[1]: just above the last centre selects exactly this group.
        limits = [group[0][0], group[-1][0] * 1.01]
        spl, _ = po.octavefilter(y, rate, 3, 6, limits, dbfs=True)
        for (_, label), per_channel in zip(group, spl.T, strict=True):
            levels_by_label[label] = round(_energy_mean_db(per_channel) + offset_db, 2)
    return {
        _nominal_key(label): levels_by_label[label] for label in labels if label in levels_by_label
    }


def spectrum_range(x: np.ndarray, sample_rate: int) -> tuple[float, float, float]:
    """(dominant frequency, low and high edge of the central 90 % of the energy) in Hz."""
    segment = min(x.shape[1], 1 << math.ceil(math.log2(sample_rate / 6)))
    frequencies, psd = signal.welch(x, sample_rate, nperseg=segment, axis=-1)
    audible = frequencies >= SPECTRUM_MIN_HZ
    frequencies, power = frequencies[audible], psd.mean(axis=0)[audible]
    total = float(power.sum())
    if total <= 0:
        return 0.0, 0.0, 0.0
    cumulative = np.cumsum(power) / total
    low, high = (float(frequencies[np.searchsorted(cumulative, q)]) for q in ENERGY_RANGE)
    return float(frequencies[np.argmax(power)]), low, high


def spectral_features(x: np.ndarray, sample_rate: int) -> Features:
    y = _resampled(x.mean(axis=0, keepdims=True), sample_rate, FEATURE_SAMPLE_RATE)[0]
    y = y.astype(np.float32)
    sr = FEATURE_SAMPLE_RATE
    magnitude = np.abs(librosa.stft(y, n_fft=FRAME_LENGTH, hop_length=HOP_LENGTH))
    power = magnitude**2
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr))
    harmonic, percussive = harmonic_percussive_ratios(magnitude)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=FRAME_LENGTH, hop_length=HOP_LENGTH)
    return Features(
        duration_s=x.shape[1] / sample_rate,
        sample_rate=sample_rate,
        num_samples=x.shape[1],
        channels=x.shape[0],
        rms_energy=math.sqrt(float(np.mean(x**2))),
        zero_crossing_rate=_frame_mean(zcr),
        spectral_centroid=_frame_mean(librosa.feature.spectral_centroid(S=magnitude, sr=sr)),
        spectral_bandwidth=_frame_mean(librosa.feature.spectral_bandwidth(S=magnitude, sr=sr)),
        spectral_rolloff=_frame_mean(librosa.feature.spectral_rolloff(S=magnitude, sr=sr)),
        spectral_flatness=_frame_mean(librosa.feature.spectral_flatness(S=magnitude)),
        harmonic_ratio=harmonic,
        percussive_ratio=percussive,
        mfcc=_frame_means(librosa.feature.mfcc(S=mel_db, n_mfcc=13)),
        # tuning=0: estimating a musical tuning from railway noise only adds noise and time.
        chroma=_frame_means(librosa.feature.chroma_stft(S=power, sr=sr, tuning=0.0)),
    )


def hpss_masks(magnitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The soft masks of ``librosa.decompose.hpss(magnitude, mask=True)``, computed faster.

    librosa median-filters with a 2-D footprint (1x31, 31x1); scipy's median filter is much
    faster on 1-D input: 0.37 s instead of 3.6 s per minute of audio in bench/, same masks.
    """
    harmonic = _median_rows(magnitude)
    percussive = _median_rows(magnitude.T).T
    return (
        librosa.util.softmask(harmonic, percussive, power=2.0, split_zeros=True),
        librosa.util.softmask(percussive, harmonic, power=2.0, split_zeros=True),
    )


def harmonic_percussive_ratios(magnitude: np.ndarray) -> tuple[float, float]:
    harmonic_mask, percussive_mask = hpss_masks(magnitude)
    harmonic = float(np.sum((harmonic_mask * magnitude) ** 2))
    percussive = float(np.sum((percussive_mask * magnitude) ** 2))
    total = harmonic + percussive
    return (harmonic / total, percussive / total) if total > 0 else (0.0, 0.0)


def _median_rows(values: np.ndarray) -> np.ndarray:
    """Median over ``HPSS_KERNEL`` neighbours along each row, edges mirrored.

    All rows go through scipy in one 1-D call, each padded with its own mirror image (scipy's
    "reflect" is numpy's "symmetric") so that no window reaches into the next row. A call per
    row costs 0.15 ms of Python overhead: 0.16 s for the 1,025 rows of even a 1 s clip.
    """
    half = HPSS_KERNEL // 2
    padded = np.pad(values, ((0, 0), (half, half)), mode="symmetric")
    filtered = ndimage.median_filter(padded.ravel(), size=HPSS_KERNEL, mode="reflect")
    return np.asarray(filtered.reshape(padded.shape)[:, half:-half])


@functools.cache
def _third_octave_bands() -> tuple[list[float], list[float], list[str]]:
    """Centre and upper edge frequencies and nominal labels from 25 Hz to 20 kHz."""
    centres, _, upper, labels = po.getansifrequencies(3, list(BAND_LIMITS_HZ))
    return centres, upper, labels


def _band_groups(
    centres: list[float], upper: list[float], labels: list[str], sample_rate: int
) -> dict[int, list[tuple[float, str]]]:
    """Bands below Nyquist, grouped by the lowest halving of the rate that keeps them clear."""
    groups: dict[int, list[tuple[float, str]]] = {}
    for centre, top, label in zip(centres, upper, labels, strict=True):
        if top >= sample_rate / 2:
            continue
        steps = 0
        while (
            steps < _MAX_DECIMATION_STEPS
            and sample_rate // 2 ** (steps + 1) / 2 >= _BAND_HEADROOM * top
        ):
            steps += 1
        groups.setdefault(sample_rate // 2**steps, []).append((centre, label))
    return groups


def _resampled(x: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    if rate == new_rate:
        return x
    return np.ascontiguousarray(soxr.resample(np.ascontiguousarray(x.T), rate, new_rate).T)


def _nominal_key(label: str) -> str:
    """pyoctaveband's "1.25k" becomes "1250"."""
    value = float(label[:-1]) * 1000 if label.endswith("k") else float(label)
    return f"{value:g}"


def _peak_times(readings: np.ndarray, times: np.ndarray, interval_s: float) -> list[float]:
    spacing = max(1, round(PEAK_MIN_SPACING_S / interval_s))
    peaks, _ = signal.find_peaks(readings, prominence=PEAK_PROMINENCE_DB, distance=spacing)
    return [round(float(t), 3) for t in times[peaks]]


def _event_durations(readings: np.ndarray, threshold_db: float, interval_s: float) -> list[float]:
    above = np.concatenate(([0], (readings > threshold_db).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(above))
    durations = (edges[1::2] - edges[::2]) * interval_s
    return [round(float(d), 3) for d in durations if d >= EVENT_MIN_DURATION_S - 1e-9]


def _plot_series(readings: np.ndarray, times: np.ndarray) -> LevelSeries:
    per_point = max(1, math.ceil(readings.size / MAX_SERIES_POINTS))
    points = math.ceil(readings.size / per_point)
    padded = np.pad(readings, (0, points * per_point - readings.size), constant_values=-np.inf)
    maxima = padded.reshape(points, per_point).max(axis=1)
    return LevelSeries(
        level_times_s=[round(float(t), 3) for t in times[::per_point]],
        laf_levels=[round(float(v), 2) for v in maxima],
    )


def _db(mean_square: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.maximum(mean_square, _MIN_MEAN_SQUARE))


def _energy_mean_db(levels_db: float | np.ndarray) -> float:
    return float(10 * np.log10(np.mean(10 ** (np.asarray(levels_db) / 10))))


def _frame_mean(feature: np.ndarray) -> float:
    return float(np.mean(feature))


def _frame_means(feature: np.ndarray) -> list[float]:
    return [float(v) for v in feature.mean(axis=1)]


def load_whole(path: Path) -> LoadedAudio:
    """The old ``load_audio``: every block decoded, then joined into one float64 array."""
    with sf.SoundFile(path) as f:
        blocks = []
        while len(block := f.read(1 << 20, dtype="float64", always_2d=True)):
            blocks.append(block)
        samples = np.concatenate(blocks)
        return LoadedAudio(samples, f.samplerate, f.format, f.subtype, len(samples) / f.samplerate)


def worker_path(path: Path) -> Analysis:
    audio = load_whole(path)
    result = analyse(audio, calibration_offset_db=None)
    plot_data(audio)
    return result


def plot_data(audio: LoadedAudio) -> dict[str, Any]:
    mono = audio.samples.mean(axis=1)
    return {
        "waveform": waveform_envelope(mono, audio.sample_rate),
        "spectrogram": spectrogram_png(mono, audio.sample_rate),
    }


def waveform_envelope(mono: np.ndarray, sample_rate: int) -> dict[str, Any]:
    per = max(1, math.ceil(mono.size / WAVEFORM_COLUMNS))
    columns = math.ceil(mono.size / per)
    padded = np.pad(mono, (0, columns * per - mono.size), mode="edge").reshape(columns, per)
    return {
        "duration_s": round(mono.size / sample_rate, 3),
        "min": [round(float(v), 4) for v in padded.min(axis=1)],
        "max": [round(float(v), 4) for v in padded.max(axis=1)],
    }


def spectrogram_png(mono: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """Power spectrogram on a log frequency axis from 20 Hz to Nyquist, as a base64 PNG."""
    width, height = SPECTROGRAM_SIZE
    segment = 1 << max(8, math.ceil(math.log2(sample_rate / 12)))  # ≈ 12 Hz resolution
    segment = min(segment, 1 << max(8, int(math.log2(max(mono.size, 256)))))
    # At most 75 % overlap: a short clip gets fewer, stretched columns instead of 4x the FFTs.
    hop = int(min(segment // 2, max(segment // 4, mono.size // width)))
    frequencies, _, power = signal.spectrogram(
        mono, sample_rate, nperseg=segment, noverlap=segment - hop, detrend=False, mode="psd"
    )
    frames = power.shape[1]
    if frames > width:  # average whole groups of frames into the image's columns
        edges = np.linspace(0, frames, width + 1).astype(int)
        power = np.add.reduceat(power, edges[:-1], axis=1) / np.diff(edges)
    nyquist = sample_rate / 2
    rows = np.geomspace(SPECTROGRAM_MIN_HZ, nyquist, height)[::-1]  # top row: highest frequency
    # Linear interpolation between the two FFT bins around each row, all columns at once.
    position = np.clip(rows / frequencies[1], 0, len(frequencies) - 1.000001)
    below = position.astype(int)
    weight = (position - below)[:, np.newaxis]
    image = power[below] * (1 - weight) + power[below + 1] * weight
    level = 10 * np.log10(np.maximum(image, 1e-30))
    top = float(np.percentile(level, 99.9))
    scaled = np.clip((level - (top - SPECTROGRAM_RANGE_DB)) / SPECTROGRAM_RANGE_DB, 0, 1)
    # 64 shades are plenty for the eye and compress to half the bytes of 256.
    indices = (np.round(scaled * 63) * 255 / 63).astype(np.uint8)
    return {
        "png": base64.b64encode(indexed_png(indices, palette())).decode("ascii"),
        "f_min_hz": SPECTROGRAM_MIN_HZ,
        "f_max_hz": nyquist,
        "duration_s": round(mono.size / sample_rate, 3),
        "range_db": SPECTROGRAM_RANGE_DB,
    }
