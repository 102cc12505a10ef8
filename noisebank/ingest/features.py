"""Audio features (librosa 0.11) as running sums over STFT frames, one block at a time.

The channel mean, DC removed, is resampled to 22,050 Hz (librosa's default rate, so values
compare with datasets made by ``librosa.load``) by a soxr stream and cut into 2048-sample frames
every 512 samples, padded at both ends as ``librosa.stft(center=True)`` pads (zeros; the zero
crossing rate's frames repeat the edge samples, as librosa's does). Every feature is the mean over
all frames of the recording, as a whole-array librosa call gives:

- spectral centroid, bandwidth, roll-off (85 %), flatness and the 12 chroma: per frame, then
  averaged;
- the 13 MFCC: the DCT of the mean log-mel spectrum (the DCT is linear, so this is the mean of
  the frames' MFCC). ``power_to_db`` clips every log-mel value at 80 dB below the loudest one
  of the whole recording; that loudest value is known only at the end, so each mel band keeps
  a histogram of its values in 0.1 dB bins and the clipped mean comes from it (exact but for
  the values within 0.1 dB of the clip level);
- harmonic and percussive ratio: the spectrogram's energy split by median-filter HPSS (31
  frames along time, 31 bins along frequency, librosa's soft masks); the time medians look 15
  frames ahead, so 30 frames are carried from one block to the next.
"""

from __future__ import annotations

import math

import librosa
import numpy as np
import scipy.fft
import soxr
from scipy import ndimage

FEATURE_SAMPLE_RATE = 22_050
FRAME_LENGTH = 2048
HOP_LENGTH = 512
HPSS_KERNEL = 31
MEL_TOP_DB = 80.0
_MEL_BANDS = 128
_MEL_AMIN = 1e-10
_ROLL_PERCENT = 0.85  # librosa's defaults for spectral_rolloff, spectral_flatness and
_FLATNESS_AMIN = 1e-10  # zero_crossings
_ZERO_THRESHOLD = np.float32(1e-10)
_MEL_LOW_DB, _MEL_BIN_DB, _MEL_BINS = -100.0, 0.1, 2500  # -100 .. +150 dB


class FeatureMeter:
    """Feed the DC-free channel mean at the recording's rate to ``add``; ``finish`` averages."""

    def __init__(self, sample_rate: int) -> None:
        self.resampler = (
            None
            if sample_rate == FEATURE_SAMPLE_RATE
            else soxr.ResampleStream(sample_rate, FEATURE_SAMPLE_RATE, 1, dtype="float64")
        )
        self.stft_pending = np.zeros(FRAME_LENGTH // 2, np.float32)  # center=True's zeros
        self.zcr_pending: np.ndarray | None = None  # starts with copies of the first sample
        self.last_sample = np.float32(0)
        self.mel_basis = librosa.filters.mel(sr=FEATURE_SAMPLE_RATE, n_fft=FRAME_LENGTH)
        self.frequencies = librosa.fft_frequencies(sr=FEATURE_SAMPLE_RATE, n_fft=FRAME_LENGTH)[
            :, np.newaxis
        ]
        # tuning=0: estimating a musical tuning from railway noise only adds noise and time.
        self.chroma_basis = librosa.filters.chroma(
            sr=FEATURE_SAMPLE_RATE, n_fft=FRAME_LENGTH, tuning=0.0, n_chroma=12
        )
        self.frames = 0
        self.zcr_frames = 0
        self.sums = {"centroid": 0.0, "bandwidth": 0.0, "rolloff": 0.0, "flatness": 0.0}
        self.zcr_sum = 0.0
        self.chroma = np.zeros(12)
        self.mel_max = -math.inf
        self.mel_counts = np.zeros(_MEL_BANDS * _MEL_BINS, np.int64)
        self.mel_sums = np.zeros(_MEL_BANDS * _MEL_BINS)
        self.hpss = HarmonicPercussive()

    def add(self, mono: np.ndarray) -> None:
        self._samples(self._resampled(mono, last=False))

    def finish(self) -> dict[str, float | list[float]]:
        self._samples(self._resampled(np.zeros(0), last=True))
        half = np.zeros(FRAME_LENGTH // 2, np.float32)
        self._stft_frames(half)
        self._zcr_frames(np.full(FRAME_LENGTH // 2, self.last_sample, np.float32))
        self.hpss.finish()
        n = max(self.frames, 1)
        harmonic, percussive = self.hpss.ratios()
        return {
            "zero_crossing_rate": self.zcr_sum / max(self.zcr_frames, 1),
            "spectral_centroid": self.sums["centroid"] / n,
            "spectral_bandwidth": self.sums["bandwidth"] / n,
            "spectral_rolloff": self.sums["rolloff"] / n,
            "spectral_flatness": self.sums["flatness"] / n,
            "harmonic_ratio": harmonic,
            "percussive_ratio": percussive,
            "mfcc": [float(v) for v in scipy.fft.dct(self._clipped_mel_mean(), norm="ortho")[:13]],
            "chroma": [float(v) for v in self.chroma / n],
        }

    def _resampled(self, mono: np.ndarray, *, last: bool) -> np.ndarray:
        if self.resampler is None:
            return mono.astype(np.float32)
        y = self.resampler.resample_chunk(np.ascontiguousarray(mono[:, np.newaxis]), last=last)
        return y[:, 0].astype(np.float32)

    def _samples(self, y: np.ndarray) -> None:
        if not len(y):
            return
        if self.zcr_pending is None:
            self.zcr_pending = np.full(FRAME_LENGTH // 2, y[0], np.float32)
        self.last_sample = y[-1]
        self._stft_frames(y)
        self._zcr_frames(y)

    def _stft_frames(self, y: np.ndarray) -> None:
        pending = np.concatenate([self.stft_pending, y])
        count = (len(pending) - FRAME_LENGTH) // HOP_LENGTH + 1
        if count <= 0:
            self.stft_pending = pending
            return
        used = pending[: (count - 1) * HOP_LENGTH + FRAME_LENGTH]
        magnitude = np.abs(
            librosa.stft(used, n_fft=FRAME_LENGTH, hop_length=HOP_LENGTH, center=False)
        )
        self.stft_pending = pending[count * HOP_LENGTH :]
        self._spectral(magnitude)

    def _zcr_frames(self, y: np.ndarray) -> None:
        if self.zcr_pending is None:
            return
        pending = np.concatenate([self.zcr_pending, y])
        count = (len(pending) - FRAME_LENGTH) // HOP_LENGTH + 1
        if count > 0:
            self.zcr_sum += float(_zero_crossing_rates(pending, count).sum())
            self.zcr_frames += count
            pending = pending[count * HOP_LENGTH :]
        self.zcr_pending = pending

    def _spectral(self, magnitude: np.ndarray) -> None:
        power = magnitude**2
        # librosa.feature.spectral_centroid, _bandwidth, _rolloff and _flatness (S=magnitude),
        # their arithmetic sharing one normalised spectrogram and one cumulative sum.
        shares = librosa.util.normalize(magnitude, norm=1, axis=-2)
        centroid = np.sum(self.frequencies * shares, axis=-2, keepdims=True)
        deviation = np.abs(np.subtract.outer(centroid[0], self.frequencies[:, 0]).swapaxes(-2, -1))
        bandwidth = np.sum(shares * deviation**2, axis=-2, keepdims=True) ** 0.5
        cumulative = np.cumsum(magnitude, axis=-2)
        reached = cumulative >= _ROLL_PERCENT * cumulative[-1]
        rolloff = self.frequencies[np.argmax(reached, axis=-2), 0]
        floored = np.maximum(_FLATNESS_AMIN, power)
        flatness = np.exp(np.mean(np.log(floored), axis=-2)) / np.mean(floored, axis=-2)
        self.sums["centroid"] += float(centroid.sum(dtype=np.float64))
        self.sums["bandwidth"] += float(bandwidth.sum())
        self.sums["rolloff"] += float(rolloff.sum())
        self.sums["flatness"] += float(flatness.sum(dtype=np.float64))
        # librosa.feature.chroma_stft(S=power, sr=22050, tuning=0.0), its filters made once.
        raw_chroma = np.einsum("cf,...ft->...ct", self.chroma_basis, power, optimize=True)
        chroma = librosa.util.normalize(raw_chroma, norm=np.inf, axis=-2)
        self.chroma += chroma.sum(axis=1, dtype=np.float64)
        self._mel(power)
        self.hpss.add(magnitude)
        self.frames += magnitude.shape[1]

    def _mel(self, power: np.ndarray) -> None:
        mel_db = 10 * np.log10(np.maximum(_MEL_AMIN, self.mel_basis @ power))
        self.mel_max = max(self.mel_max, float(mel_db.max()))
        bins = ((mel_db - _MEL_LOW_DB) / _MEL_BIN_DB).astype(np.int64)
        np.clip(bins, 0, _MEL_BINS - 1, out=bins)
        index = (bins + _MEL_BINS * np.arange(_MEL_BANDS)[:, np.newaxis]).ravel()
        size = _MEL_BANDS * _MEL_BINS
        self.mel_counts += np.bincount(index, minlength=size)
        self.mel_sums += np.bincount(index, weights=mel_db.ravel(), minlength=size)

    def _clipped_mel_mean(self) -> np.ndarray:
        """Per mel band, the mean over frames of max(value, loudest value - 80 dB)."""
        floor = self.mel_max - MEL_TOP_DB
        counts = self.mel_counts.reshape(_MEL_BANDS, _MEL_BINS)
        sums = self.mel_sums.reshape(_MEL_BANDS, _MEL_BINS)
        clipped = np.maximum(sums, floor * counts)  # per bin: all below, all above, or mixed
        return np.asarray(clipped.sum(axis=1) / max(self.frames, 1))


class HarmonicPercussive:
    """The energy of librosa's soft HPSS masks, with the time medians carried across blocks.

    A call of ``librosa.decompose.hpss(magnitude, mask=True)`` on the whole spectrogram pads it
    with its own mirror image at both ends; here the first 15 frames are mirrored at the start,
    the last 15 at the end, and between blocks the medians see the real neighbouring frames.
    """

    half = HPSS_KERNEL // 2

    def __init__(self) -> None:
        self.pending: np.ndarray | None = None  # [15 frames of context |] frames not yet done
        self.started = False
        self.harmonic = 0.0
        self.percussive = 0.0

    def add(self, magnitude: np.ndarray) -> None:
        buffer = magnitude if self.pending is None else np.hstack([self.pending, magnitude])
        if not self.started:
            if buffer.shape[1] <= 2 * self.half:
                self.pending = buffer
                return
            buffer = np.hstack([buffer[:, : self.half][:, ::-1], buffer])
            self.started = True
        self._centre(buffer)
        self.pending = buffer[:, -2 * self.half :]

    def finish(self) -> None:
        if self.pending is None:
            return
        if not self.started:  # a spectrogram of 30 frames or fewer: mirror it all at once
            padded = np.pad(self.pending, ((0, 0), (self.half, self.half)), mode="symmetric")
        else:
            padded = np.hstack([self.pending, self.pending[:, -self.half :][:, ::-1]])
        self._centre(padded)
        self.pending = None

    def ratios(self) -> tuple[float, float]:
        total = self.harmonic + self.percussive
        return (self.harmonic / total, self.percussive / total) if total > 0 else (0.0, 0.0)

    def _centre(self, padded: np.ndarray) -> None:
        """Masks and energies of the frames that have ``half`` frames either side."""
        centre = padded[:, self.half : -self.half]
        harmonic = _median_along_rows(padded)[:, self.half : -self.half]
        percussive = _median_along_rows(
            np.pad(centre.T, ((0, 0), (self.half, self.half)), mode="symmetric")
        )[:, self.half : -self.half]
        percussive = np.ascontiguousarray(percussive.T)  # the masks' arithmetic runs in one order
        harmonic_mask, percussive_mask = _softmasks(harmonic, percussive)
        self.harmonic += float(np.sum((harmonic_mask * centre) ** 2, dtype=np.float64))
        self.percussive += float(np.sum((percussive_mask * centre) ** 2, dtype=np.float64))


def _zero_crossing_rates(y: np.ndarray, count: int) -> np.ndarray:
    """librosa.feature.zero_crossing_rate(y, center=False) of the first ``count`` frames.

    librosa counts a crossing where the sign bit changes between neighbours within a frame,
    values within 1e-10 of zero counting as positive; a running count of the crossings gives
    every frame's by one subtraction instead of a pass over each of its 2048 samples.
    """
    negative = y[: (count - 1) * HOP_LENGTH + FRAME_LENGTH] < -_ZERO_THRESHOLD
    crossed = np.concatenate(([0], np.cumsum(negative[1:] != negative[:-1])))
    starts = np.arange(count) * HOP_LENGTH
    return np.asarray((crossed[starts + FRAME_LENGTH - 1] - crossed[starts]) / FRAME_LENGTH)


def _median_along_rows(padded: np.ndarray) -> np.ndarray:
    """The median of ``HPSS_KERNEL`` neighbours along each row of an already padded array.

    All rows go through scipy in one 1-D call (much faster than the 2-D footprint librosa
    uses: 0.37 s instead of 3.6 s per minute of audio); only the columns with a whole window
    inside their own row are meaningful, which the caller keeps.
    """
    filtered = ndimage.median_filter(padded.ravel(), size=HPSS_KERNEL, mode="reflect")
    return np.asarray(filtered.reshape(padded.shape))


def hpss_masks(magnitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The soft masks of ``librosa.decompose.hpss(magnitude, mask=True)`` for a whole array."""
    half = HPSS_KERNEL // 2
    padded_time = np.pad(magnitude, ((0, 0), (half, half)), mode="symmetric")
    harmonic = _median_along_rows(padded_time)[:, half:-half]
    padded_frequency = np.pad(magnitude.T, ((0, 0), (half, half)), mode="symmetric")
    percussive = _median_along_rows(padded_frequency)[:, half:-half].T
    return _softmasks(harmonic, percussive)


def _softmasks(harmonic: np.ndarray, percussive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """librosa.util.softmask(h, p, power=2.0, split_zeros=True) and softmask(p, h, ...), bit
    for bit, computed together: both divide by the same larger value and the same sum."""
    larger = np.maximum(harmonic, percussive)
    silent = larger < np.finfo(larger.dtype).tiny
    larger[silent] = 1
    h = (harmonic / larger) ** 2
    p = (percussive / larger) ** 2
    total = h + p
    np.divide(h, total, out=h, where=~silent)
    np.divide(p, total, out=p, where=~silent)
    h[silent] = 0.5
    p[silent] = 0.5
    return h, p
