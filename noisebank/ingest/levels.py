"""The level meter: A- and Z-weighted energy and the A-weighted Fast level, one block at a time.

Everything a sound level meter integrates is kept as running sums, and the filters' state is
carried from block to block, so a recording of any length is measured in the same memory:

- the A-weighting filter (``AWeighting``) and the Fast time weighting keep their state;
- LAeq and LZeq are energy sums per channel;
- LAF statistics come from a histogram of the Fast level at every sample in 0.01 dB bins
  (LA10/50/90 within 0.01 dB of the percentiles of the whole array), with exact minimum,
  maximum, mean and standard deviation;
- the Fast level read every 10 ms and the A-weighted energy of each 10 ms go to a temporary
  file (``Readings``, 16 bytes per reading: 138 MB a day, on disk, not in memory), from which
  peaks, events, the plot series and the hourly levels are taken once it has all been read.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyoctaveband as po
import soxr
from scipy import signal

from noisebank.ingest.sos import SosFilter

FAST_TIME_CONSTANT_S = 0.125
READING_INTERVAL_S = 0.01
MAX_SERIES_POINTS = 2000
PEAK_PROMINENCE_DB = 6.0
PEAK_MIN_SPACING_S = 0.25
# A peak's prominence is judged within this window around it, so peaks are found in slices of
# the recording with the same result as in one piece (a bump on a slow 10-minute rise is not a
# peak unless it stands out within half a minute either side).
PEAK_WINDOW_S = 60.0
EVENT_MARGIN_DB = 10.0
EVENT_MIN_DURATION_S = 0.5

HISTOGRAM_STEP_DB = 0.01
HISTOGRAM_LOW_DB = -160.0  # below the -156.5 dBFS floor
HISTOGRAM_HIGH_DB = 30.0  # above any A-weighted Fast level of a file (full scale ≈ +3 dBFS)
MIN_MEAN_SQUARE = float(np.finfo(float).eps)  # -156.5 dBFS, pyoctaveband's floor

_A_WEIGHTING_RATE_HZ = 192_000
_READINGS_CHUNK = 1 << 18  # readings handled at a time when the recording has been read
_READING = np.dtype([("laf", "<f8"), ("energy", "<f8")])


class AWeighting:
    """pyoctaveband's IEC 61672-1 A filter, run at 192 kHz or more, block by block.

    Its bilinear design bends the curve near Nyquist, so the signal is oversampled with soxr
    (0.03 dB low at 8 kHz and 0.26 dB at 16 kHz against the IEC formula, 0.000 dB at 1 kHz;
    pyoctaveband's own ``high_accuracy`` path, resample_poly to 96 kHz, is 1.08 dB low at
    16 kHz). The way back is every ``factor``-th sample: soxr's oversampled signal holds
    nothing above the original Nyquist frequency, and a linear filter adds nothing there, so
    there is nothing to alias (the same levels as a second soxr stage within 0.001 dB, for a
    third less time). The resampler, the filter and the decimation phase carry over blocks.
    """

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.factor = min(8, max(1, math.ceil(_A_WEIGHTING_RATE_HZ / sample_rate)))
        high_rate = sample_rate * self.factor
        self.channels = channels
        design = po.WeightingFilter(high_rate, "A", stateful=True, high_accuracy=False)
        self.filter = SosFilter(design.sos, channels)  # its stateful filter, without copies
        self.up = soxr.ResampleStream(sample_rate, high_rate, channels, dtype="float64")
        self.phase = 0  # where in the next oversampled block the next kept sample is

    def process(self, x: np.ndarray, *, last: bool = False) -> np.ndarray:
        """(channels, n) in, (channels, m) out; the output lags the input until ``last``."""
        if self.factor == 1:
            return self.filter.filter_in_place(np.array(x, dtype=np.float64, order="C"))
        high = self.up.resample_chunk(np.ascontiguousarray(x.T), last=last)
        if not len(high):
            return np.zeros((self.channels, 0))
        weighted = self.filter.filter_in_place(np.ascontiguousarray(high.T))
        kept = weighted[:, self.phase :: self.factor]
        self.phase = (self.phase - weighted.shape[1]) % self.factor
        return np.ascontiguousarray(kept)

    def finish(self) -> np.ndarray:
        return self.process(np.zeros((self.channels, 0)), last=True)


class Readings:
    """The Fast level every 10 ms and the A-weighted energy of each 10 ms, in a temporary file."""

    def __init__(self) -> None:
        # Closed by close(), which the measuring pass calls in a finally block.
        self.file = tempfile.TemporaryFile(prefix="noisebank-readings-")  # noqa: SIM115
        self.count = 0

    def write(self, laf: np.ndarray, energy: np.ndarray) -> None:
        record = np.empty(len(laf), _READING)
        record["laf"], record["energy"] = laf, energy
        record.tofile(self.file)
        self.count += len(laf)

    def chunks(self, size: int = _READINGS_CHUNK) -> Iterator[np.ndarray]:
        self.file.flush()
        self.file.seek(0)
        while len(chunk := np.fromfile(self.file, _READING, count=size)):
            yield chunk

    def close(self) -> None:
        self.file.close()


@dataclass(frozen=True)
class LevelTotals:
    """What ``LevelMeter`` found, in dBFS (the caller adds a calibration offset)."""

    samples: int
    z_mean_square: np.ndarray  # per channel, DC removed
    a_mean_square: np.ndarray  # per channel
    lafmax: float
    lafmin: float
    la10: float
    la50: float
    la90: float
    mean_db: float
    std_db: float
    reading_interval_s: float


class LevelMeter:
    """Feed DC-free (channels, n) blocks to ``add``; ``finish`` returns the totals.

    The Fast averager starts from the mean square of the first 125 ms, as if the meter had been
    running before the recording began; started from silence it would read low for the first
    quarter second and bias every statistic of a short clip. Channels are combined as
    pyoctaveband does for several channels of one sound field: the mean of their mean squares.
    """

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.rate = sample_rate
        self.channels = channels
        self.a_weighting = AWeighting(sample_rate, channels)
        self.head = max(1, round(FAST_TIME_CONSTANT_S * sample_rate))
        self.waiting: list[np.ndarray] = []  # weighted samples before the averager can start
        self.state: np.ndarray | None = None
        self.step = max(1, round(READING_INTERVAL_S * sample_rate))
        self.readings = Readings()
        self.open_reading: tuple[float, float] | None = None  # (LAF at its start, energy so far)
        self.z_sum = np.zeros(channels)
        self.z_square = np.zeros(channels)
        self.a_square = np.zeros(channels)
        self.samples = 0
        self.weighted = 0
        self.histogram = np.zeros(
            round((HISTOGRAM_HIGH_DB - HISTOGRAM_LOW_DB) / HISTOGRAM_STEP_DB), np.int64
        )
        self.laf_max, self.laf_min = -math.inf, math.inf
        self.reference: float | None = None  # sums of LAF - reference keep the variance exact
        self.laf_sum = self.laf_square = 0.0

    def add(self, x: np.ndarray) -> None:
        self.samples += x.shape[1]
        self.z_sum += x.sum(axis=1)
        self.z_square += np.einsum("ij,ij->i", x, x)
        self._weighted(self.a_weighting.process(x), last=False)

    def finish(self) -> LevelTotals:
        self._weighted(self.a_weighting.finish(), last=True)
        if self.open_reading is not None:
            self.readings.write(np.array([self.open_reading[0]]), np.array([self.open_reading[1]]))
            self.open_reading = None
        n = max(self.samples, 1)
        mean = self.z_sum / n
        la10, la50, la90 = self._percentiles((90.0, 50.0, 10.0))
        count = max(self.weighted, 1)
        variance = max(self.laf_square / count - (self.laf_sum / count) ** 2, 0.0)
        return LevelTotals(
            samples=self.samples,
            z_mean_square=np.maximum(self.z_square / n - mean**2, 0.0),
            a_mean_square=self.a_square / max(self.weighted, 1),
            lafmax=self.laf_max,
            lafmin=self.laf_min,
            la10=la10,
            la50=la50,
            la90=la90,
            mean_db=(self.reference or 0.0) + self.laf_sum / count,
            std_db=math.sqrt(variance),
            reading_interval_s=self.step / self.rate,
        )

    def _weighted(self, w: np.ndarray, *, last: bool) -> None:
        if self.state is None:
            self.waiting.append(w)
            if sum(part.shape[1] for part in self.waiting) < self.head and not last:
                return
            w = np.concatenate(self.waiting, axis=1)
            self.waiting = []
            if w.shape[1] == 0:
                return
            self.state = np.mean(w[:, : self.head] ** 2, axis=1)
        if w.shape[1] == 0:
            return
        envelope = po.time_weighting(w, self.rate, mode="fast", initial_state=self.state)
        self.state = envelope[:, -1].copy()
        self.a_square += np.einsum("ij,ij->i", w, w)
        laf = 10 * np.log10(np.maximum(envelope.mean(axis=0), MIN_MEAN_SQUARE))
        self._statistics(laf)
        self._read(laf, (w * w).mean(axis=0))
        self.weighted += w.shape[1]

    def _statistics(self, laf: np.ndarray) -> None:
        bins = ((laf - HISTOGRAM_LOW_DB) * (1 / HISTOGRAM_STEP_DB)).astype(np.int64)
        np.clip(bins, 0, len(self.histogram) - 1, out=bins)
        self.histogram += np.bincount(bins, minlength=len(self.histogram))
        self.laf_max = max(self.laf_max, float(laf.max()))
        self.laf_min = min(self.laf_min, float(laf.min()))
        if self.reference is None:
            self.reference = float(laf[0])
        shifted = laf - self.reference
        self.laf_sum += float(shifted.sum())
        self.laf_square += float(np.dot(shifted, shifted))

    def _read(self, laf: np.ndarray, square: np.ndarray) -> None:
        """Readings at every ``step``-th sample; each carries the energy up to the next one."""
        first = (-self.weighted) % self.step
        starts = np.arange(first, len(laf), self.step)
        if self.open_reading is not None:
            level, energy = self.open_reading
            head = float(square[: starts[0] if len(starts) else len(square)].sum())
            self.open_reading = (level, energy + head)
        if not len(starts):
            return
        energies = np.add.reduceat(square, starts)
        if self.open_reading is not None:
            self.readings.write(np.array([self.open_reading[0]]), np.array([self.open_reading[1]]))
        self.readings.write(laf[starts[:-1]], energies[:-1])
        self.open_reading = (float(laf[starts[-1]]), float(energies[-1]))

    def _percentiles(self, qs: tuple[float, ...]) -> list[float]:
        """np.percentile's linear interpolation, each order statistic the centre of its bin."""
        cumulative = np.cumsum(self.histogram)
        n = int(cumulative[-1])
        if n == 0:
            return [math.nan] * len(qs)

        def value(rank: int) -> float:
            b = int(np.searchsorted(cumulative, rank, side="right"))
            centre = HISTOGRAM_LOW_DB + (b + 0.5) * HISTOGRAM_STEP_DB
            return min(max(centre, self.laf_min), self.laf_max)

        out = []
        for q in qs:
            rank = q / 100 * (n - 1)
            low = math.floor(rank)
            v_low, v_high = value(low), value(min(low + 1, n - 1))
            out.append(v_low + (rank - low) * (v_high - v_low))
        return out


def peak_times(readings: Readings, interval_s: float) -> tuple[int, float | None]:
    """(number of peaks, the mean time between them in s) of the Fast level read every 10 ms.

    A peak stands out by ``PEAK_PROMINENCE_DB`` within ``PEAK_WINDOW_S`` and lies at least
    ``PEAK_MIN_SPACING_S`` from a higher one (scipy's find_peaks). The readings are searched in
    slices that overlap by more than half the window, so each slice judges its peaks on the
    same data as one search of the whole recording would.
    """
    spacing = max(1, round(PEAK_MIN_SPACING_S / interval_s))
    window = round(PEAK_WINDOW_S / interval_s) | 1
    margin = window // 2 + 4 * spacing
    count, first, last = 0, None, None
    buffer, buffer_start, core_start = np.zeros(0), 0, 0
    chunks = readings.chunks()
    exhausted = False
    while not exhausted or core_start < buffer_start + len(buffer):
        chunk = next(chunks, None)
        if chunk is None:
            exhausted = True
        else:
            buffer = np.concatenate([buffer, chunk["laf"]])
        end = buffer_start + len(buffer)
        core_end = end if exhausted else end - margin
        if core_end <= core_start:
            continue
        found, _ = signal.find_peaks(
            buffer, prominence=PEAK_PROMINENCE_DB, distance=spacing, wlen=window
        )
        found = found + buffer_start
        found = found[(found >= core_start) & (found < core_end)]
        if len(found):
            count += len(found)
            first = found[0] if first is None else first
            last = found[-1]
        core_start = core_end
        keep_from = max(core_start - margin, buffer_start)
        buffer = buffer[keep_from - buffer_start :]
        buffer_start = keep_from
    if count < 2 or first is None or last is None:
        return count, None
    # Times are rounded to the millisecond before differencing, as they were stored before.
    spread = round(float(last) * interval_s, 3) - round(float(first) * interval_s, 3)
    return count, round(spread / (count - 1), 3)


def event_durations(readings: Readings, threshold_db: float, interval_s: float) -> list[float]:
    """Durations of the stretches where the Fast level stays above ``threshold_db``."""
    durations: list[float] = []
    run = 0
    for chunk in readings.chunks():
        above = np.concatenate(([False], chunk["laf"] > threshold_db, [False]))
        edges = np.flatnonzero(np.diff(above.astype(np.int8)))
        starts, ends = edges[::2], edges[1::2]
        lengths = (ends - starts).tolist()
        if run and len(starts) and starts[0] == 0:
            lengths[0] += run  # a stretch running on from the previous chunk
        elif run:
            lengths.insert(0, run)
        run = lengths.pop() if len(ends) and ends[-1] == len(chunk) else 0
        durations += [d * interval_s for d in lengths]
    if run:
        durations.append(run * interval_s)
    return [round(d, 3) for d in durations if d >= EVENT_MIN_DURATION_S - 1e-9]


def plot_series(readings: Readings, interval_s: float) -> tuple[list[float], list[float]]:
    """(times, levels): the highest reading of each of at most ``MAX_SERIES_POINTS`` intervals."""
    per_point = max(1, math.ceil(readings.count / MAX_SERIES_POINTS))
    times: list[float] = []
    maxima: list[float] = []
    done = 0
    for chunk in readings.chunks(per_point * max(1, _READINGS_CHUNK // per_point)):
        laf = chunk["laf"]
        points = math.ceil(len(laf) / per_point)
        padded = np.pad(laf, (0, points * per_point - len(laf)), constant_values=-np.inf)
        maxima += padded.reshape(points, per_point).max(axis=1).tolist()
        times += ((done + per_point * np.arange(points)) * interval_s).tolist()
        done += len(laf)
    return times, maxima
