"""Is this a recording of an acoustic calibrator (IEC 60942), and what level does it read?

The recording is read block by block (``decode.AudioSource``) and cut into 100 ms windows; of
each window and channel we keep three numbers: its unweighted (Z) mean square with the
window's mean taken off (DC-free), the frequency of its spectral peak (Hann window, 10 Hz bins,
parabolic interpolation on the log spectrum: well under 1 Hz off for a pure tone) and the share
of its energy within 10 % of that peak. The channel with the most energy is the one judged.

The tone is accepted when it holds for at least ``MIN_STEADY_S``: the longest run of windows
whose levels stay within ``STEADY_DB`` of each other (the calibrator being switched on or the
microphone pushed in before and after do not count), in which the median peak frequency lies
within 1 % of 1 kHz and at least 99 % of the energy lies near the tone (the rest would bias the
level by more than 0.04 dB). Its level is the energy mean of that run, in dBFS, unweighted: at
1 kHz the A-weighting is 0 dB (0.000 dB with ``levels.AWeighting``), so the offset derived from
it gives the same LAeq and LZeq for a recording of the same tone.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from noisebank.ingest.decode import AudioSource

TONE_HZ = 1000.0
FREQUENCY_TOLERANCE = 0.01  # IEC 60942 class 1 allows 1 %
STEADY_DB = 0.2
MIN_STEADY_S = 3.0
MIN_TONE_SHARE = 0.99
TONE_BAND = 0.10  # "near the tone": within 10 % of its frequency
WINDOW_S = 0.1
# A calibrator recording is seconds long; ten minutes bounds the work and the memory.
MAX_CALIBRATOR_S = 600.0
STANDARD_LEVELS_DB = (94.0, 114.0)


class NotACalibratorTone(Exception):
    """Refused, with the measured figures in ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ToneReading:
    level_dbfs: float  # unweighted RMS of the steady stretch
    frequency_hz: float
    steadiness_db: float  # the range of the 100 ms levels over the steady stretch
    steady_s: float
    tone_share: float  # of the energy, within 10 % of the tone's frequency
    channel: int  # 1 = the first

    def offset_db(self, nominal_db: float) -> float:
        """dB SPL = dBFS + offset."""
        return nominal_db - self.level_dbfs


@dataclass(frozen=True)
class _Windows:
    mean_square: np.ndarray  # (windows,)
    peak_hz: np.ndarray
    tone_energy: np.ndarray  # the energy near the peak, in mean-square units
    channel: int = 0


def read_tone(source: AudioSource) -> ToneReading:
    """The calibrator tone in ``source``, or ``NotACalibratorTone`` saying what was measured."""
    windows = _windows(source)
    if not len(windows.mean_square):
        raise NotACalibratorTone("The recording is shorter than 100 ms: no tone to measure.")
    levels = 10 * np.log10(np.maximum(windows.mean_square, 1e-30))
    start, stop = longest_steady(levels, STEADY_DB)
    steady_s = (stop - start) * WINDOW_S
    chosen = slice(start, stop)
    frequency = float(np.median(windows.peak_hz[chosen]))
    share = float(
        windows.tone_energy[chosen].sum() / max(windows.mean_square[chosen].sum(), 1e-300)
    )
    reading = ToneReading(
        level_dbfs=float(10 * np.log10(max(float(windows.mean_square[chosen].mean()), 1e-30))),
        frequency_hz=frequency,
        steadiness_db=float(levels[chosen].max() - levels[chosen].min()),
        steady_s=steady_s,
        tone_share=share,
        channel=windows.channel + 1,
    )
    problems = []
    if len(levels) * WINDOW_S < MIN_STEADY_S - 1e-9:
        problems.append(
            f"the recording is {len(levels) * WINDOW_S:.1f} s long (at least "
            f"{MIN_STEADY_S:.0f} s of steady tone are needed)"
        )
    elif steady_s < MIN_STEADY_S - 1e-9:
        spread = float(levels.max() - levels.min())
        problems.append(
            f"its level is steady within {STEADY_DB} dB for {steady_s:.1f} s at most "
            f"(at least {MIN_STEADY_S:.0f} s are needed; the 100 ms levels span {spread:.1f} dB)"
        )
    if abs(frequency - TONE_HZ) > FREQUENCY_TOLERANCE * TONE_HZ:
        problems.append(
            f"its frequency is {frequency:,.0f} Hz ({TONE_HZ:,.0f} Hz ± "
            f"{FREQUENCY_TOLERANCE:.0%} is needed)"
        )
    if share < MIN_TONE_SHARE:
        problems.append(
            f"only {share:.0%} of its energy lies within {TONE_BAND:.0%} of that frequency "
            f"({MIN_TONE_SHARE:.0%} is needed: anything else would bias the level)"
        )
    if problems:
        raise NotACalibratorTone(
            f"This is not a steady {TONE_HZ:,.0f} Hz calibrator tone: "
            + "; ".join(problems)
            + f". Measured over its steadiest {steady_s:.1f} s, at {reading.level_dbfs:.2f} dBFS."
        )
    return reading


def longest_steady(levels: np.ndarray, limit_db: float) -> tuple[int, int]:
    """[start, stop) of the longest run whose values stay within ``limit_db`` of each other
    (the earliest of equal runs). Sliding window with monotonic queues of maxima and minima."""
    highs: deque[int] = deque()
    lows: deque[int] = deque()
    best, start = (0, min(1, len(levels))), 0
    for i, v in enumerate(levels):
        while highs and levels[highs[-1]] <= v:
            highs.pop()
        highs.append(i)
        while lows and levels[lows[-1]] >= v:
            lows.pop()
        lows.append(i)
        while levels[highs[0]] - levels[lows[0]] > limit_db + 1e-9:
            start += 1
            if highs[0] < start:
                highs.popleft()
            if lows[0] < start:
                lows.popleft()
        if i + 1 - start > best[1] - best[0]:
            best = (start, i + 1)
    return best


def _windows(source: AudioSource) -> _Windows:
    """Per 100 ms window, of the channel with the most energy: mean square, peak, tone energy."""
    size = max(1, round(WINDOW_S * source.sample_rate))
    hann = np.hanning(size)
    freqs = np.fft.rfftfreq(size, 1 / source.sample_rate)
    per_channel: list[list[np.ndarray]] = [[], [], []]
    carry = np.zeros((0, source.channels))
    read = 0
    for block in source.blocks():
        read += len(block)
        if read > MAX_CALIBRATOR_S * source.sample_rate:
            raise NotACalibratorTone(
                f"A calibrator recording may be at most {MAX_CALIBRATOR_S / 60:.0f} minutes "
                "long; record the tone for 5 to 30 seconds."
            )
        joined = np.concatenate([carry, block]) if len(carry) else block
        whole = len(joined) // size
        if whole:
            frames = joined[: whole * size].T.reshape(source.channels, whole, size)
            for part, values in zip(per_channel, _measure(frames, hann, freqs), strict=True):
                part.append(values)
        carry = joined[whole * size :]
    if not per_channel[0]:
        return _Windows(np.zeros(0), np.zeros(0), np.zeros(0))
    mean_square, peak_hz, tone_energy = (np.concatenate(p, axis=1) for p in per_channel)
    loudest = int(np.argmax(mean_square.sum(axis=1)))
    return _Windows(mean_square[loudest], peak_hz[loudest], tone_energy[loudest], loudest)


def _measure(
    frames: np.ndarray, hann: np.ndarray, freqs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(channels, windows, size) -> each (channels, windows)."""
    centred = frames - frames.mean(axis=2, keepdims=True)
    mean_square = np.mean(centred**2, axis=2)
    power = np.abs(np.fft.rfft(centred * hann, axis=2)) ** 2
    power[..., 0] = 0.0
    peak = np.argmax(power, axis=2)
    step = freqs[1] - freqs[0] if len(freqs) > 1 else 1.0
    inner = np.clip(peak, 1, power.shape[2] - 2)
    take = np.take_along_axis
    left, mid, right = (
        np.log(np.maximum(take(power, (inner + d)[..., None], axis=2)[..., 0], 1e-300))
        for d in (-1, 0, 1)
    )
    curve = left - 2 * mid + right
    shift = np.where(curve < 0, 0.5 * (left - right) / np.where(curve < 0, curve, 1.0), 0.0)
    peak_hz = (inner + np.clip(shift, -0.5, 0.5)) * step
    near = np.abs(freqs[None, None, :] - peak_hz[..., None]) <= TONE_BAND * peak_hz[..., None]
    share = (power * near).sum(axis=2) / np.maximum(power.sum(axis=2), 1e-300)
    return mean_square, peak_hz, mean_square * share


def describe(reading: ToneReading) -> str:
    return (
        f"{reading.frequency_hz:,.1f} Hz at {reading.level_dbfs:.2f} dBFS, steady within "
        f"{reading.steadiness_db:.2f} dB over {reading.steady_s:.1f} s"
    )


def standard_or_typed(value: str) -> float:
    """A nominal level as typed: a number of dB SPL, within what calibrators produce."""
    try:
        level = float(value.replace(",", "."))
    except ValueError:
        raise ValueError(f"{value!r} is not a level in dB (e.g. 94 or 114).") from None
    if not math.isfinite(level) or not 60.0 <= level <= 160.0:
        raise ValueError(f"{value} dB is not a calibrator level (60 to 160 dB SPL).")
    return level
