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
    with one in dB SPL; ``Levels.unit`` says which. Which offset a recording gets (its own, its
    device's calibration from a calibrator recording, or the device's typed one) is
    ``Recording.calibration_in_force``; ``calibrator`` reads the calibrator's tone.

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
      before taking logarithms), so a stereo file of two identical channels reads like mono.
      A channel whose LAeq is more than 6 dB below the loudest one's is flagged dead and left
      out: the levels are then those of the live channels (``SignalReport``); each channel's
      LAeq is kept.

Signal checks (``sanity``, lines drawn in ``noisebank.lib.checks``)
    Digital silence (more than 99 % of the samples below -120 dBFS, or none differing from
    another by more) is "no signal": no levels and no spectral features, instead of the
    -156.5 dBFS floor read as if measured. The share of clipped samples (at or within 0.01 dB
    of full scale; "clipped" above 0.1 %) and the DC offset (flagged beyond ±0.001 of full
    scale) are reported for every recording.

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
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from threadpoolctl import threadpool_limits

from noisebank.ingest import levels as meter
from noisebank.ingest import longterm
from noisebank.ingest.audio import LoadedAudio
from noisebank.ingest.bands import BandMeter, SpectrumMeter
from noisebank.ingest.decode import ArraySource, AudioSource
from noisebank.ingest.features import FeatureMeter
from noisebank.ingest.longterm import LongTerm
from noisebank.ingest.plots import SpectrogramMeter, WaveformMeter
from noisebank.ingest.sanity import SignalCheck, SignalChecker
from noisebank.lib import checks

MAX_SERIES_POINTS = meter.MAX_SERIES_POINTS
EVENT_MARGIN_DB = meter.EVENT_MARGIN_DB


@dataclass(frozen=True)
class Features:
    duration_s: float
    sample_rate: int
    num_samples: int
    channels: int
    rms_energy: float
    zero_crossing_rate: float | None  # None: no signal
    spectral_centroid: float | None  # None: no signal
    spectral_bandwidth: float | None  # None: no signal
    spectral_rolloff: float | None  # None: no signal
    spectral_flatness: float | None  # None: no signal
    harmonic_ratio: float | None  # None: no signal
    percussive_ratio: float | None  # None: no signal
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
class SignalReport:
    """What the signal checks found (see ``sanity`` and ``noisebank.lib.checks``)."""

    no_signal: bool
    clipped_share: float  # 0-1, all channels together
    dc_offset: float  # the channel mean farthest from zero, full scale 1.0
    channel_laeq: list[float]  # per channel, in the levels' unit; empty without a signal
    dead_channels: list[int]  # 1 = the first channel
    level_channels: list[int]  # the channels the levels come from

    @property
    def clipped(self) -> bool:
        return self.clipped_share > checks.CLIPPED_SHARE_LIMIT

    @property
    def dc(self) -> bool:
        return abs(self.dc_offset) > checks.DC_OFFSET_LIMIT


@dataclass(frozen=True)
class Analysis:
    features: Features
    levels: Levels | None  # None: no signal, nothing to measure
    series: LevelSeries
    plots: dict[str, Any]  # waveform envelope and spectrogram image for the detail page
    signal: SignalReport
    long_term: LongTerm | None = None  # when the moment the recording started is known


Progress = Callable[[float], None]


def analyse(
    audio: AudioSource | LoadedAudio | tuple[np.ndarray, int],
    *,
    calibration_offset_db: float | None,
    progress: Progress | None = None,
    started_at: datetime | None = None,
    time_zone: ZoneInfo | None = None,
    levels_only: bool = False,
) -> Analysis:
    """Measure a recording; levels in dB SPL if a calibration offset is given, else dBFS.

    The recording is read twice: a cheap first read (``sanity``) finds each channel's exact
    DC offset and whether there is a signal at all, the second measures. When a channel is
    more than 6 dB quieter than the loudest (a dead microphone), the levels are measured once
    more from the live channels alone. ``progress`` is called after each block with the seconds
    of audio read so far, over all reads. With ``started_at`` (aware) the long-term indicators
    are given in ``time_zone`` (default UTC). ``levels_only`` skips the features and plots.
    """
    # One core per worker: BLAS threads (the mel and chroma products) competing with other
    # workers for the cores cost ten times the CPU on a busy 2-core machine.
    clock = None if started_at is None else (started_at, time_zone or ZoneInfo("UTC"))
    with threadpool_limits(limits=1):
        return _analyse(
            as_source(audio),
            calibration_offset_db,
            progress or (lambda _: None),
            clock,
            levels_only,
        )


Clock = tuple[datetime, ZoneInfo]


def _analyse(
    source: AudioSource,
    offset_db: float | None,
    progress: Progress,
    clock: Clock | None,
    levels_only: bool,
) -> Analysis:
    checker = SignalChecker(source.channels)
    for block in source.blocks():
        checker.add(block)
        progress(checker.samples / source.sample_rate)
    check = checker.result()
    read = check.samples / source.sample_rate
    if check.no_signal:
        return _no_signal(source, check, offset_db)
    everything = _measured(source, check, offset_db, None, not levels_only, clock, progress, read)
    channel_laeq = everything.channel_laeq
    loudest = max(channel_laeq)
    dead = [i for i, level in enumerate(channel_laeq) if level < loudest - checks.DEAD_CHANNEL_DB]
    live = [i for i in range(source.channels) if i not in dead]
    levels, series, long_term = everything.levels, everything.series, everything.long_term
    if dead:
        alive = _measured(source, check, offset_db, live, False, clock, progress, 2 * read)
        levels, series, long_term = alive.levels, alive.series, alive.long_term
    signal = SignalReport(
        no_signal=False,
        clipped_share=check.clipped_share,
        dc_offset=check.dc_offset,
        channel_laeq=[round(level, 2) for level in channel_laeq],
        dead_channels=[i + 1 for i in dead],
        level_channels=[i + 1 for i in live],
    )
    features = everything.features or _without_spectra(source, check)
    return Analysis(features, levels, series, everything.plots, signal, long_term)


def as_source(audio: AudioSource | LoadedAudio | tuple[np.ndarray, int]) -> AudioSource:
    if isinstance(audio, AudioSource):
        return audio
    if isinstance(audio, LoadedAudio):
        return ArraySource.of(audio.samples, audio.sample_rate)
    samples, sample_rate = audio
    return ArraySource.of(samples, sample_rate)


def _no_signal(source: AudioSource, check: SignalCheck, offset_db: float | None) -> Analysis:
    signal = SignalReport(True, check.clipped_share, check.dc_offset, [], [], [])
    return Analysis(_without_spectra(source, check), None, LevelSeries([], []), {}, signal)


def _without_spectra(source: AudioSource, check: SignalCheck) -> Features:
    """What the first read knows: length, rate, channels and RMS; no spectral features."""
    return Features(
        duration_s=check.samples / source.sample_rate,
        sample_rate=source.sample_rate,
        num_samples=check.samples,
        channels=source.channels,
        rms_energy=check.rms,
        zero_crossing_rate=None,
        spectral_centroid=None,
        spectral_bandwidth=None,
        spectral_rolloff=None,
        spectral_flatness=None,
        harmonic_ratio=None,
        percussive_ratio=None,
        mfcc=[],
        chroma=[],
    )


def _measured(
    source: AudioSource,
    check: SignalCheck,
    offset_db: float | None,
    channels: list[int] | None,
    everything: bool,
    clock: Clock | None,
    progress: Progress,
    already_s: float,
) -> Measured:
    measuring = Pass(source, check, channels, everything=everything)
    try:
        for block in source.blocks():
            measuring.add(block)
            progress(already_s + measuring.samples / source.sample_rate)
        return measuring.finish(offset_db, clock)
    finally:
        measuring.close()


@dataclass(frozen=True)
class Measured:
    levels: Levels
    series: LevelSeries
    channel_laeq: list[float]  # of the channels measured
    features: Features | None  # None when only the levels were measured
    plots: dict[str, Any]
    long_term: LongTerm | None


class Pass:
    """Every meter fed from one read of the recording.

    ``channels`` (0 = the first) restricts the levels to those channels; features and plots
    (the channel mean of all channels) are made only when ``everything``.
    """

    def __init__(
        self,
        source: AudioSource,
        check: SignalCheck,
        channels: list[int] | None = None,
        *,
        everything: bool = True,
    ) -> None:
        self.channels = channels
        count = source.channels if channels is None else len(channels)
        rate = source.sample_rate
        self.rate = rate
        self.all_channels = source.channels
        self.levels = meter.LevelMeter(rate, count)
        self.bands = BandMeter(rate, count)
        self.spectrum = SpectrumMeter(rate, count)
        self.features = FeatureMeter(rate) if everything else None
        self.waveform = WaveformMeter(rate)
        self.spectrogram = SpectrogramMeter(rate, check.samples)
        self.dc = check.mean if channels is None else check.mean[channels]
        self.samples = 0

    def add(self, block: np.ndarray) -> None:
        """One block of (frames, channels) samples, full scale 1.0."""
        self.samples += len(block)
        chosen = block if self.channels is None else block[:, self.channels]
        centred = np.ascontiguousarray((chosen - self.dc).T)
        self.levels.add(centred)
        self.bands.add(centred)
        self.spectrum.add(centred)
        if self.features is not None:
            self.features.add(centred.mean(axis=0))
            mono = block.mean(axis=1)
            self.waveform.add(mono)
            self.spectrogram.add(mono)

    def finish(self, calibration_offset_db: float | None, clock: Clock | None = None) -> Measured:
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
        channel_laeq = [
            _energy_mean_db(mean_square) + offset for mean_square in totals.a_mean_square
        ]
        long_term = None
        if clock is not None:
            long_term = longterm.long_term(
                readings,
                interval_s=interval,
                samples=totals.samples,
                sample_rate=self.rate,
                start=clock[0],
                zone=clock[1],
                offset_db=offset,
            )
        if self.features is None:
            return Measured(levels, series, channel_laeq, None, {}, long_term)
        features = Features(
            duration_s=self.samples / self.rate,
            sample_rate=self.rate,
            num_samples=self.samples,
            channels=self.all_channels,
            rms_energy=math.sqrt(float(np.mean(totals.z_mean_square))),
            **self.features.finish(),  # type: ignore[arg-type]
        )
        plots = {"waveform": self.waveform.envelope(), "spectrogram": self.spectrogram.image()}
        return Measured(levels, series, channel_laeq, features, plots, long_term)

    def close(self) -> None:
        self.levels.readings.close()


def _energy_mean_db(mean_squares: np.ndarray, floor: float = meter.MIN_MEAN_SQUARE) -> float:
    floored = np.maximum(np.asarray(mean_squares, dtype=float), floor)
    return float(10 * np.log10(np.mean(floored)))
