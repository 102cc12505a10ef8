"""1/3-octave band levels and the spectrum's range, one block at a time.

``BandMeter``: pyoctaveband's IEC 61260-1 filters (Butterworth order 6) from 25 Hz to 20 kHz,
each run at the lowest halving of the sample rate that keeps 1.25x headroom above its upper
edge. soxr streams decimate from one rate to the next and every filter keeps its state, so the
bands of a day-long recording cost the same memory as those of a minute.

``SpectrumMeter``: Welch's averaged periodogram (scipy.signal.welch's defaults: Hann window,
half overlap, each segment's mean removed) accumulated segment by segment.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pyoctaveband as po
import soxr
from scipy import signal

from noisebank.ingest.sos import SosFilter

BAND_LIMITS_HZ = (25.0, 20_000.0)
SPECTRUM_MIN_HZ = 20.0
ENERGY_RANGE = (0.05, 0.95)
_BAND_HEADROOM = 1.25  # pyoctaveband's margin between a band's upper edge and Nyquist
_MIN_RMS = float(np.finfo(float).eps)  # pyoctaveband's floor on a band's RMS
_MIN_RUN = 8192


@functools.cache
def third_octave_bands() -> tuple[list[float], list[float], list[str]]:
    """Centre and upper edge frequencies and nominal labels from 25 Hz to 20 kHz."""
    centres, _, upper, labels = po.getansifrequencies(3, list(BAND_LIMITS_HZ))
    return centres, upper, labels


def band_groups(sample_rate: int) -> dict[int, list[tuple[float, str]]]:
    """Bands below Nyquist, grouped by the lowest halving of the rate that keeps them clear."""
    centres, upper, labels = third_octave_bands()
    groups: dict[int, list[tuple[float, str]]] = {}
    for centre, top, label in zip(centres, upper, labels, strict=True):
        if top >= sample_rate / 2:
            continue
        steps = 0
        while sample_rate // 2 ** (steps + 1) / 2 >= _BAND_HEADROOM * top:
            steps += 1
        groups.setdefault(sample_rate // 2**steps, []).append((centre, label))
    return groups


def nominal_key(label: str) -> str:
    """pyoctaveband's "1.25k" becomes "1250"."""
    value = float(label[:-1]) * 1000 if label.endswith("k") else float(label)
    return f"{value:g}"


@functools.lru_cache(maxsize=64)
def _design(rate: int, first_centre: float, last_centre: float) -> tuple[np.ndarray, ...]:
    """The filters of the bands from ``first_centre`` to ``last_centre`` at ``rate``.

    Designing a bank takes about 0.2 s of pyoctaveband's frequency arithmetic, so designs are
    kept for the next recording of the same rate. pyoctaveband takes the bands from the one
    nearest limits[0] up to the first whose upper edge passes limits[1]: just above the last
    centre selects exactly the group.
    """
    limits = [first_centre, last_centre * 1.01]
    return tuple(po.OctaveFilterBank(rate, 3, 6, limits, resample=False, dbfs=True).sos)


class _Group:
    """The bands that run at one rate: their filters, states and energy sums."""

    def __init__(self, rate: int, bands: list[tuple[float, str]], channels: int) -> None:
        self.rate = rate
        self.labels = [label for _, label in bands]
        sos = _design(rate, bands[0][0], bands[-1][0])
        assert len(sos) == len(bands)
        self.filters = [SosFilter(s, channels) for s in sos]
        self.energy = np.zeros((len(bands), channels))
        self.samples = 0
        self.waiting: list[np.ndarray] = []

    def add(self, y: np.ndarray, *, last: bool = False) -> None:
        """Filter in runs of at least ``_MIN_RUN`` samples: a low band's rate gives it only a
        few samples a block, and each filter call costs about 30 µs whatever its length."""
        self.waiting.append(y)
        if sum(part.shape[1] for part in self.waiting) < _MIN_RUN and not last:
            return
        y = np.concatenate(self.waiting, axis=1) if len(self.waiting) > 1 else self.waiting[0]
        self.waiting = []
        if not y.shape[1]:
            return
        filtered = np.empty_like(y, order="C")
        for i, band in enumerate(self.filters):
            np.copyto(filtered, y)
            band.filter_in_place(filtered)
            self.energy[i] += np.einsum("ij,ij->i", filtered, filtered)
        self.samples += y.shape[1]


class BandMeter:
    """Feed DC-free (channels, n) blocks; ``levels`` gives each band's mean square per channel."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.channels = channels
        self.groups: list[_Group] = []
        self.resamplers: list[soxr.ResampleStream | None] = []
        previous = sample_rate
        for rate, bands in sorted(band_groups(sample_rate).items(), reverse=True):
            # Each group's input is the previous group's, decimated again: halving the last
            # rate is the cheapest way down.
            self.resamplers.append(
                None
                if rate == previous
                else soxr.ResampleStream(previous, rate, channels, dtype="float64")
            )
            self.groups.append(_Group(rate, bands, channels))
            previous = rate

    def add(self, x: np.ndarray) -> None:
        self._feed(x, last=False)

    def finish(self) -> None:
        self._feed(np.zeros((self.channels, 0)), last=True)

    def _feed(self, x: np.ndarray, *, last: bool) -> None:
        y = x
        for resampler, group in zip(self.resamplers, self.groups, strict=True):
            if resampler is not None:
                y = np.ascontiguousarray(
                    resampler.resample_chunk(np.ascontiguousarray(y.T), last=last).T
                )
            group.add(y, last=last)

    def mean_squares(self) -> dict[str, np.ndarray]:
        """Nominal centre ("31.5", "1000", ...) -> mean square per channel, low to high."""
        found = {}
        for group in self.groups:
            for label, energy in zip(group.labels, group.energy, strict=True):
                rms = np.maximum(np.sqrt(energy / max(group.samples, 1)), _MIN_RMS)
                found[label] = rms**2
        _, _, labels = third_octave_bands()
        return {nominal_key(label): found[label] for label in labels if label in found}


class SpectrumMeter:
    """Welch's power spectrum with segments of about 6 Hz resolution, summed per channel."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.rate = sample_rate
        self.segment = 1 << math.ceil(math.log2(sample_rate / 6))
        self.hop = self.segment // 2
        self.window = signal.get_window("hann", self.segment)
        self.pending = np.zeros((channels, 0))
        self.power = np.zeros((channels, self.segment // 2 + 1))
        self.segments = 0

    def add(self, x: np.ndarray) -> None:
        self.pending = np.concatenate([self.pending, x], axis=1)
        count = (self.pending.shape[1] - self.segment) // self.hop + 1
        if count <= 0:
            return
        frames = np.lib.stride_tricks.sliding_window_view(self.pending, self.segment, axis=1)
        frames = frames[:, : count * self.hop : self.hop]
        self.power += self._periodograms(frames, self.window).sum(axis=1)
        self.segments += count
        self.pending = self.pending[:, count * self.hop :]

    def range(self, channels: list[int] | None = None) -> tuple[float, float, float]:
        """(dominant frequency, low and high edge of the central 90 % of the energy) in Hz."""
        if self.segments:
            power, size = self.power, self.segment
        else:  # shorter than one segment: one periodogram of everything, as welch does
            size = self.pending.shape[1]
            window = signal.get_window("hann", size)
            power = self._periodograms(self.pending[:, np.newaxis, :], window)[:, 0]
        frequencies = np.fft.rfftfreq(size, 1 / self.rate)
        onesided = np.ones(len(frequencies))
        onesided[1 : len(frequencies) - (1 if size % 2 == 0 else 0)] = 2  # welch doubles these
        chosen = power if channels is None else power[channels]
        audible = frequencies >= SPECTRUM_MIN_HZ
        frequencies, spectrum = frequencies[audible], (chosen.mean(axis=0) * onesided)[audible]
        total = float(spectrum.sum())
        if total <= 0:
            return 0.0, 0.0, 0.0
        cumulative = np.cumsum(spectrum) / total
        low, high = (float(frequencies[np.searchsorted(cumulative, q)]) for q in ENERGY_RANGE)
        return float(frequencies[np.argmax(spectrum)]), low, high

    @staticmethod
    def _periodograms(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
        centred = frames - frames.mean(axis=-1, keepdims=True)
        centred *= window
        spectrum = np.fft.rfft(centred, axis=-1)
        return spectrum.real**2 + spectrum.imag**2
