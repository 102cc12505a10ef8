"""What Noisebank measures in a recording: audio features and standard acoustic levels.

Two reads of the recording, block by block (``decode.AudioSource``): a cheap one for each
channel's DC offset (``sanity``), then one that measures, in which every stage keeps its
filter state and running sums from one block to the next, so a worker measures a day-long
recording in the memory a minute takes. Short and long files take the same path.

Calibration
    Digital full scale is 1.0 and an uncalibrated level is ``L_dBFS = 20·log10(RMS)``, so a
    full-scale sine reads -3.01 dBFS. A recorder's calibration offset ``C`` (dB) turns that into
    sound pressure level re 20 µPa: ``L_SPL = L_dBFS + C``. Example: a 94.0 dB SPL (1 Pa)
    calibrator that reads -26.0 dBFS gives C = 120.0. Without an offset every level is in dBFS,
    with one in dB SPL; ``Levels.unit`` says which.

Levels (pyoctaveband 2.0.0, IEC 61672-1 and IEC 61260-1; see ``levels`` and ``bands``)
    - DC: each channel's mean over the whole recording (found by a first, cheap read) is taken
      off before the filters.
    - A-weighting: pyoctaveband's ``WeightingFilter`` design, run at 192 kHz or more. Within
      0.03 dB of the IEC formula up to 8 kHz, 0.26 dB at 16 kHz.
    - LZeq (unweighted) and LAeq: the energy mean over the recording.
    - The A-weighted Fast level (LAF, τ = 125 ms), pyoctaveband's ``time_weighting`` carried
      from block to block and started from the mean square of the first 125 ms. LAFmax, LAFmin
      and mean/max/min/std (arithmetic, in dB) are exact statistics over every sample; LA10,
      LA50 and LA90 (the levels exceeded 10/50/90 % of the time) come from a histogram of every
      sample's LAF in 0.01 dB bins.
    - Peaks: maxima of the LAF read every 10 ms that stand out by at least 6 dB (prominence,
      judged within 30 s either side), 0.25 s apart or more. Events: the LAF above
      LA90 + 10 dB for 0.5 s or longer.
    - Bands: 1/3-octave Leq from 25 Hz to 20 kHz (Butterworth order 6), only bands whose upper
      edge lies below the Nyquist frequency. Keys are the IEC nominal centre frequencies:
      "25", "31.5", ..., "1000", "1250", ..., "20000".
    - Dominant frequency and frequency range: from the unweighted Welch power spectrum
      (about 6 Hz resolution) between 20 Hz and Nyquist; the range holds the central 90 % of
      the energy (5th to 95th percentile of the cumulative energy).
    - Several channels: levels are the energy mean over channels (the mean square is averaged
      before taking logarithms), so a stereo file of two identical channels reads like mono
      and no channel is ignored.

Features (librosa 0.11; see ``features`` for how each is defined as a mean over frames)
    Computed on the channel mean resampled to 22,050 Hz with 2048-sample frames every 512
    samples; content above 11 kHz does not reach them. ``rms_energy`` is the exception: the
    RMS of all samples of all channels at the native rate after DC removal (full scale 1.0), so
    that 20·log10(rms_energy) is LZeq in dBFS. ``harmonic_ratio`` and ``percussive_ratio`` add
    up to 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from noisebank.ingest import levels as meter
from noisebank.ingest.audio import LoadedAudio
from noisebank.ingest.bands import BandMeter, SpectrumMeter
from noisebank.ingest.decode import ArraySource, AudioSource
from noisebank.ingest.features import FeatureMeter
from noisebank.ingest.plots import SpectrogramMeter, WaveformMeter
from noisebank.ingest.sanity import SignalCheck, SignalChecker

MAX_SERIES_POINTS = meter.MAX_SERIES_POINTS
EVENT_MARGIN_DB = meter.EVENT_MARGIN_DB


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
    plots: dict[str, Any]  # waveform envelope and spectrogram image for the detail page


Progress = Callable[[float], None]


def analyse(
    audio: AudioSource | LoadedAudio | tuple[np.ndarray, int],
    *,
    calibration_offset_db: float | None,
    progress: Progress | None = None,
) -> Analysis:
    """Measure a recording; levels in dB SPL if a calibration offset is given, else dBFS.

    The recording is read twice: a cheap first read (``sanity``) finds each channel's exact
    DC offset, the second measures. ``progress`` is called after each block with the seconds
    of audio read so far (twice the duration in all).
    """
    # One core per worker: BLAS threads (the mel and chroma products) competing with other
    # workers for the cores cost ten times the CPU on a busy 2-core machine.
    with threadpool_limits(limits=1):
        return _analyse(as_source(audio), calibration_offset_db, progress)


def _analyse(
    source: AudioSource, calibration_offset_db: float | None, progress: Progress | None
) -> Analysis:
    checker = SignalChecker(source.channels)
    for block in source.blocks():
        checker.add(block)
        if progress is not None:
            progress(checker.samples / source.sample_rate)
    check = checker.result()
    measured = Pass(source, check)
    try:
        for block in source.blocks():
            measured.add(block)
            if progress is not None:
                progress((check.samples + measured.samples) / source.sample_rate)
        return measured.finish(calibration_offset_db)
    finally:
        measured.close()


def as_source(audio: AudioSource | LoadedAudio | tuple[np.ndarray, int]) -> AudioSource:
    if isinstance(audio, AudioSource):
        return audio
    if isinstance(audio, LoadedAudio):
        return ArraySource.of(audio.samples, audio.sample_rate)
    samples, sample_rate = audio
    return ArraySource.of(samples, sample_rate)


class Pass:
    """Every meter fed from one read of the recording."""

    def __init__(self, source: AudioSource, check: SignalCheck) -> None:
        rate, channels = source.sample_rate, source.channels
        self.rate = rate
        self.channels = channels
        self.levels = meter.LevelMeter(rate, channels)
        self.bands = BandMeter(rate, channels)
        self.spectrum = SpectrumMeter(rate, channels)
        self.features = FeatureMeter(rate)
        self.waveform = WaveformMeter(rate)
        self.spectrogram = SpectrogramMeter(rate, check.samples)
        self.dc = check.mean
        self.samples = 0

    def add(self, block: np.ndarray) -> None:
        """One block of (frames, channels) samples, full scale 1.0."""
        self.samples += len(block)
        centred = np.ascontiguousarray((block - self.dc).T)
        self.levels.add(centred)
        self.bands.add(centred)
        self.spectrum.add(centred)
        self.features.add(centred.mean(axis=0))
        mono = block.mean(axis=1)
        self.waveform.add(mono)
        self.spectrogram.add(mono)

    def finish(self, calibration_offset_db: float | None) -> Analysis:
        offset = 0.0 if calibration_offset_db is None else calibration_offset_db
        totals = self.levels.finish()
        self.bands.finish()
        readings, interval = self.levels.readings, totals.reading_interval_s
        peak_count, peak_interval = meter.peak_times(readings, interval)
        events = meter.event_durations(readings, totals.la90 + EVENT_MARGIN_DB, interval)
        times, maxima = meter.plot_series(readings, interval)
        dominant, low, high = self.spectrum.range()
        levels = Levels(
            unit="dBFS" if calibration_offset_db is None else "dB SPL",
            lzeq=_energy_mean_db(totals.z_mean_square) + offset,
            laeq=_energy_mean_db(totals.a_mean_square) + offset,
            lafmax=totals.lafmax + offset,
            lafmin=totals.lafmin + offset,
            la10=totals.la10 + offset,
            la50=totals.la50 + offset,
            la90=totals.la90 + offset,
            mean_db=totals.mean_db + offset,
            max_db=totals.lafmax + offset,
            min_db=totals.lafmin + offset,
            std_db=totals.std_db,
            dominant_frequency_hz=dominant,
            freq_low_hz=low,
            freq_high_hz=high,
            peak_count=peak_count,
            peak_interval_mean_s=peak_interval,
            event_count=len(events),
            event_durations_s=events,
            band_levels={
                band: round(_energy_mean_db(mean_square, floor=0.0) + offset, 2)
                for band, mean_square in self.bands.mean_squares().items()
            },
        )
        series = LevelSeries(
            level_times_s=[round(t, 3) for t in times],
            laf_levels=[round(v + offset, 2) for v in maxima],
        )
        features = Features(
            duration_s=self.samples / self.rate,
            sample_rate=self.rate,
            num_samples=self.samples,
            channels=self.channels,
            rms_energy=math.sqrt(float(np.mean(totals.z_mean_square))),
            **self.features.finish(),  # type: ignore[arg-type]
        )
        plots = {"waveform": self.waveform.envelope(), "spectrogram": self.spectrogram.image()}
        return Analysis(features, levels, series, plots)

    def close(self) -> None:
        self.levels.readings.close()


def _energy_mean_db(mean_squares: np.ndarray, floor: float = meter.MIN_MEAN_SQUARE) -> float:
    floored = np.maximum(np.asarray(mean_squares, dtype=float), floor)
    return float(10 * np.log10(np.mean(floored)))
