"""The detail page's plots: data made once by the worker, drawn as inline SVG by the page.

The worker stores, beside the level series, a waveform envelope (min/max of 600 columns) and the
spectrogram as a small indexed PNG (numpy + zlib, no imaging library: about 20-60 kB). A page
view only turns a few thousand stored numbers into SVG text, which costs about a millisecond,
instead of decoding the audio again (bench/ingest.py measures both).
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

WAVEFORM_COLUMNS = 600
SPECTROGRAM_SIZE = (480, 128)  # columns (time) x rows (frequency)
SPECTROGRAM_RANGE_DB = 80.0
SPECTROGRAM_MIN_HZ = 20.0
_ENVELOPE_BINS = 8 * WAVEFORM_COLUMNS
_SPECTROGRAM_BINS = 4 * SPECTROGRAM_SIZE[0]

# An "inferno"-like ramp from dark to light; 256 entries are interpolated between these.
_ANCHORS = [
    (0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99),
    (212, 72, 66), (245, 125, 21), (250, 193, 39), (252, 255, 164),
]  # fmt: skip


class WaveformMeter:
    """Minimum and maximum of the channel mean in at most ``_ENVELOPE_BINS`` equal bins.

    Bins start one sample wide and pairs of them merge whenever they would overflow, so the
    envelope of a day costs what a minute's does; at the end the bins are grouped into
    ``WAVEFORM_COLUMNS`` columns (each within an eighth of a column of its exact place).
    """

    def __init__(self, sample_rate: int) -> None:
        self.rate = sample_rate
        self.width = 1  # samples per bin
        self.low = np.zeros(0)
        self.high = np.zeros(0)
        self.partial = (math.inf, -math.inf, 0)  # (min, max, samples) of the bin being filled
        self.samples = 0

    def add(self, mono: np.ndarray) -> None:
        self.samples += len(mono)
        low, high, count = self.partial
        if count:
            head, mono = mono[: self.width - count], mono[self.width - count :]
            if len(head):
                low, high = min(low, float(head.min())), max(high, float(head.max()))
            count += len(head)
            if count == self.width:
                self.low, self.high = np.append(self.low, low), np.append(self.high, high)
                low, high, count = math.inf, -math.inf, 0
        whole = len(mono) - len(mono) % self.width
        bins = mono[:whole].reshape(-1, self.width)
        self.low = np.concatenate([self.low, bins.min(axis=1)])
        self.high = np.concatenate([self.high, bins.max(axis=1)])
        if whole < len(mono):
            rest = mono[whole:]
            low, high, count = float(rest.min()), float(rest.max()), len(rest)
        self.partial = (low, high, count)
        while len(self.low) > _ENVELOPE_BINS:
            if len(self.low) % 2:  # the odd bin out joins the one being filled
                low, high, count = self.partial
                low, high = min(low, self.low[-1]), max(high, self.high[-1])
                self.partial = (low, high, count + self.width)
                self.low, self.high = self.low[:-1], self.high[:-1]
            self.low = self.low.reshape(-1, 2).min(axis=1)
            self.high = self.high.reshape(-1, 2).max(axis=1)
            self.width *= 2

    def envelope(self) -> dict[str, Any]:
        low, high = self.low, self.high
        if self.partial[2]:
            low, high = np.append(low, self.partial[0]), np.append(high, self.partial[1])
        columns = min(WAVEFORM_COLUMNS, len(low))
        edges = np.linspace(0, len(low), columns + 1).astype(int)[:-1]
        lows = np.minimum.reduceat(low, edges) if columns else low
        highs = np.maximum.reduceat(high, edges) if columns else high
        return {
            "duration_s": round(self.samples / self.rate, 3),
            "min": [round(float(v), 4) for v in lows],
            "max": [round(float(v), 4) for v in highs],
        }


def waveform_envelope(mono: np.ndarray, sample_rate: int) -> dict[str, Any]:
    meter = WaveformMeter(sample_rate)
    meter.add(np.asarray(mono, dtype=np.float64))
    return meter.envelope()


class SpectrogramMeter:
    """The spectrogram image from frames reduced to 128 rows as they come, binned like the
    waveform: power on a log frequency axis from 20 Hz to Nyquist, columns averaged in time.

    ``frames_hint`` (the header's length) picks the overlap: 75 % for a clip too short to fill
    the image at 50 %, else 50 %; without it, 50 %.
    """

    def __init__(self, sample_rate: int, frames_hint: int | None) -> None:
        width, height = SPECTROGRAM_SIZE
        self.rate = sample_rate
        segment = 1 << max(8, math.ceil(math.log2(sample_rate / 12)))  # ≈ 12 Hz resolution
        if frames_hint is not None:
            segment = min(segment, 1 << max(8, int(math.log2(max(frames_hint, 256)))))
            hop = int(min(segment // 2, max(segment // 4, frames_hint // width)))
        else:
            hop = segment // 2
        self.segment, self.hop = segment, hop
        from scipy import signal  # a second to import: only the worker pays it

        self.window = signal.get_window(("tukey", 0.25), segment)
        scale = 1.0 / (sample_rate * float((self.window**2).sum()))
        frequencies = np.fft.rfftfreq(segment, 1 / sample_rate)
        self.doubling = np.full(len(frequencies), 2 * scale)  # one-sided density, as scipy's
        self.doubling[0] = scale
        if segment % 2 == 0:
            self.doubling[-1] = scale
        rows = np.geomspace(SPECTROGRAM_MIN_HZ, sample_rate / 2, height)[::-1]  # top row first
        position = np.clip(rows / frequencies[1], 0, len(frequencies) - 1.000001)
        self.below = position.astype(int)
        self.weight = (position - self.below)[:, np.newaxis]
        self.pending = np.zeros(0)
        self.width = 1  # frames per bin
        self.bins = np.zeros((height, 0))  # each the sum of ``width`` frames
        self.partial = (np.zeros(height), 0)  # (sum, frames) of the bin being filled
        self.samples = 0

    def add(self, mono: np.ndarray) -> None:
        self.samples += len(mono)
        self.pending = np.concatenate([self.pending, mono])
        count = (len(self.pending) - self.segment) // self.hop + 1
        if count <= 0:
            return
        frames = np.lib.stride_tricks.sliding_window_view(self.pending, self.segment)
        spectrum = np.fft.rfft(frames[: count * self.hop : self.hop] * self.window, axis=-1)
        self.pending = self.pending[count * self.hop :]
        below, above = self._power(spectrum, self.below), self._power(spectrum, self.below + 1)
        self._bin(below * (1 - self.weight) + above * self.weight)

    def _power(self, spectrum: np.ndarray, bins: np.ndarray) -> np.ndarray:
        """(rows, frames): the power density of only the bins the image's rows read."""
        chosen = spectrum[:, bins].T
        return np.asarray((chosen.real**2 + chosen.imag**2) * self.doubling[bins, np.newaxis])

    def _bin(self, rows: np.ndarray) -> None:
        sums, count = self.partial
        if count:
            head, rows = rows[:, : self.width - count], rows[:, self.width - count :]
            sums, count = sums + head.sum(axis=1), count + head.shape[1]
            if count == self.width:
                self.bins = np.hstack([self.bins, sums[:, np.newaxis]])
                sums, count = np.zeros(len(sums)), 0
        whole = rows.shape[1] - rows.shape[1] % self.width
        grouped = rows[:, :whole].reshape(rows.shape[0], -1, self.width).sum(axis=2)
        self.bins = np.hstack([self.bins, grouped])
        if whole < rows.shape[1]:
            sums, count = rows[:, whole:].sum(axis=1), rows.shape[1] - whole
        self.partial = (sums, count)
        while self.bins.shape[1] > _SPECTROGRAM_BINS:
            if self.bins.shape[1] % 2:  # the odd bin out joins the one being filled
                sums, count = self.partial
                self.partial = (sums + self.bins[:, -1], count + self.width)
                self.bins = self.bins[:, :-1]
            self.bins = self.bins.reshape(self.bins.shape[0], -1, 2).sum(axis=2)
            self.width *= 2

    def image(self) -> dict[str, Any]:
        width, _ = SPECTROGRAM_SIZE
        sums, counts = self.bins, np.full(self.bins.shape[1], float(self.width))
        if self.partial[1]:
            sums = np.hstack([sums, self.partial[0][:, np.newaxis]])
            counts = np.append(counts, self.partial[1])
        if not sums.shape[1]:  # shorter than one segment
            sums, counts = np.full((SPECTROGRAM_SIZE[1], 1), 1e-30), np.ones(1)
        columns = min(width, sums.shape[1])
        edges = np.linspace(0, sums.shape[1], columns + 1).astype(int)[:-1]
        image = np.add.reduceat(sums, edges, axis=1) / np.add.reduceat(counts, edges)
        level = 10 * np.log10(np.maximum(image, 1e-30))
        top = float(np.percentile(level, 99.9))
        scaled = np.clip((level - (top - SPECTROGRAM_RANGE_DB)) / SPECTROGRAM_RANGE_DB, 0, 1)
        # 64 shades are plenty for the eye and compress to half the bytes of 256.
        indices = (np.round(scaled * 63) * 255 / 63).astype(np.uint8)
        return {
            "png": base64.b64encode(indexed_png(indices, palette())).decode("ascii"),
            "f_min_hz": SPECTROGRAM_MIN_HZ,
            "f_max_hz": self.rate / 2,
            "duration_s": round(self.samples / self.rate, 3),
            "range_db": SPECTROGRAM_RANGE_DB,
        }


def spectrogram_png(mono: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """Power spectrogram on a log frequency axis from 20 Hz to Nyquist, as a base64 PNG."""
    meter = SpectrogramMeter(sample_rate, len(mono))
    meter.add(np.asarray(mono, dtype=np.float64))
    return meter.image()


def palette() -> bytes:
    anchors = np.array(_ANCHORS, dtype=float)
    positions = np.linspace(0, 255, len(anchors))
    ramp = [np.interp(np.arange(256), positions, anchors[:, c]) for c in range(3)]
    return bytes(np.round(np.stack(ramp, axis=1)).astype(np.uint8).ravel())


def indexed_png(indices: np.ndarray, rgb_palette: bytes) -> bytes:
    """An 8-bit palette PNG (RFC 2083) of a 2-D uint8 array; the top row first."""
    height, width = indices.shape
    raw = np.hstack([np.zeros((height, 1), np.uint8), indices]).tobytes()  # filter 0 per row

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)),
            chunk(b"PLTE", rgb_palette),
            chunk(b"IDAT", zlib.compress(raw, 6)),
            chunk(b"IEND", b""),
        ]
    )


# --- drawing ---------------------------------------------------------------------------------

W, H = 640, 250
WAVEFORM_SIZE = (1000, 150)
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 14, 34


def _nice_step(span: float, target: int = 6) -> float:
    raw = span / max(target, 1)
    if raw <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _ticks(low: float, high: float, target: int = 6) -> list[float]:
    step = _nice_step(high - low, target)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1 or v == 0 else f"{v:.2g}"


def _line(x1: float, x2: float, y1: float, y2: float, css: str) -> str:
    return f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" class="{css}"/>'


def _text(
    x: float, y: float, css: str, content: str, anchor: str = "middle", rotate: bool = False
) -> str:
    turn = f' transform="rotate(-90 {x:.0f} {y:.0f})"' if rotate else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" class="{css}" text-anchor="{anchor}"{turn}>'
        f"{escape(content)}</text>"
    )


class _Frame:
    """Maps data to the plot area of a w x h viewBox and draws its axes."""

    def __init__(
        self,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        size: tuple[int, int] = (W, H),
    ) -> None:
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        self.w, self.h = size
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        if self.y1 <= self.y0:
            self.y1 = self.y0 + 1

    def x(self, v: float) -> float:
        return LEFT + (v - self.x0) / (self.x1 - self.x0) * (self.w - LEFT - RIGHT)

    def y(self, v: float) -> float:
        return self.h - BOTTOM - (v - self.y0) / (self.y1 - self.y0) * (self.h - TOP - BOTTOM)

    def axes(
        self, x_label: str, y_label: str, *, x_ticks: Sequence[tuple[float, str]], y_ticks: int = 5
    ) -> str:
        w, h = self.w, self.h
        parts = [
            f'<rect x="{LEFT}" y="{TOP}" width="{w - LEFT - RIGHT}" height="{h - TOP - BOTTOM}" '
            'class="plotbg"/>'
        ]
        for v in _ticks(self.y0, self.y1, y_ticks):
            y = self.y(v)
            parts.append(_line(LEFT, w - RIGHT, y, y, "grid"))
            parts.append(_text(LEFT - 6, y + 4, "tick", _fmt(v), "end"))
        for v, label in x_ticks:
            x = self.x(v)
            parts.append(_line(x, x, TOP, h - BOTTOM, "grid"))
            parts.append(_text(x, h - BOTTOM + 16, "tick", label))
        parts.append(_text(w - RIGHT, h - 4, "axis", x_label, "end"))
        parts.append(_text(12, TOP + (h - TOP - BOTTOM) / 2, "axis", y_label, rotate=True))
        return "".join(parts)

    def svg(self, body: str, label: str) -> str:
        return (
            f'<svg class="plot" viewBox="0 0 {self.w} {self.h}" role="img" '
            f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
        )


def _time_ticks(duration: float) -> list[tuple[float, str]]:
    return [(t, f"{_fmt(t)}") for t in _ticks(0, duration, 8)]


def waveform_svg(waveform: dict[str, Any]) -> str:
    low, high = waveform.get("min") or [], waveform.get("max") or []
    duration = float(waveform.get("duration_s") or 0)
    if not low or not high or duration <= 0:
        return ""
    peak = max(max(abs(v) for v in low), max(abs(v) for v in high), 1e-9)
    frame = _Frame((0, duration), (-1, 1), WAVEFORM_SIZE)
    step = duration / len(high)
    top = " ".join(f"{frame.x(i * step):.1f},{frame.y(v / peak):.1f}" for i, v in enumerate(high))
    bottom = " ".join(
        f"{frame.x(i * step):.1f},{frame.y(low[i] / peak):.1f}" for i in reversed(range(len(low)))
    )
    peak_db = 20 * math.log10(peak)
    body = (
        frame.axes("time (s)", "", x_ticks=_time_ticks(duration), y_ticks=2)
        + f'<polygon points="{top} {bottom}" class="wave"/>'
        + _text(
            frame.w - RIGHT - 4, TOP + 14, "note", f"scaled to its peak, {peak_db:.1f} dBFS", "end"
        )
    )
    return frame.svg(body, "Waveform")


def level_svg(series: dict[str, Any], marks: Mapping[str, float | None], unit: str) -> str:
    times, levels = series.get("level_times_s") or [], series.get("laf_levels") or []
    if not times or not levels:
        return ""
    finite = [v for v in levels if math.isfinite(v)]
    if not finite:
        return ""
    marked = [v for v in marks.values() if v is not None]
    low = math.floor((min([*finite, *marked]) - 3) / 5) * 5
    high = math.ceil((max([*finite, *marked]) + 3) / 5) * 5
    duration = max(times[-1], 1e-3)
    frame = _Frame((0, duration), (low, high))
    points = " ".join(
        f"{frame.x(t):.1f},{frame.y(v):.1f}"
        for t, v in zip(times, levels, strict=False)
        if math.isfinite(v)
    )
    body = [
        frame.axes("time (s)", f"LAF ({unit})", x_ticks=_time_ticks(duration)),
        f'<polyline points="{points}" class="laf"/>',
    ]
    # Labels apart even when the levels are close: the highest above its line at the right,
    # the lowest below its line at the right, any other at the left.
    placed = sorted(((v, n) for n, v in marks.items() if v is not None), reverse=True)
    for rank, (value, name) in enumerate(placed):
        y = frame.y(value)
        css = name.lower()
        body.append(_line(LEFT, W - RIGHT, y, y, "mark " + css))
        if rank == 0:
            x, dy, anchor = W - RIGHT - 4, -5, "end"
        elif rank == len(placed) - 1:
            x, dy, anchor = W - RIGHT - 4, 15, "end"
        else:
            x, dy, anchor = LEFT + 4, -5, "start"
        body.append(_text(x, y + dy, "marklabel " + css, f"{name} {value:.1f}", anchor))
    return frame.svg("".join(body), f"A-weighted Fast level against time, {unit}")


def bands_svg(band_levels: dict[str, float], unit: str) -> str:
    bands = sorted(((float(k), v) for k, v in band_levels.items() if v is not None))
    if not bands:
        return ""
    values = [v for _, v in bands]
    high = math.ceil((max(values) + 3) / 5) * 5
    # 80 dB below the loudest band is the floor: lower bars show as empty, not as a cliff.
    low = max(math.floor((min(values) - 5) / 10) * 10, high - 80)
    frame = _Frame((0, len(bands)), (low, high))
    labelled = {31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000}
    ticks = [
        (i + 0.5, f"{f / 1000:g}k" if f >= 1000 else f"{f:g}")
        for i, (f, _) in enumerate(bands)
        if f in labelled
    ]
    body = [frame.axes("1/3-octave band (Hz)", f"Leq ({unit})", x_ticks=ticks)]
    width = (W - LEFT - RIGHT) / len(bands)
    for i, (f, v) in enumerate(bands):
        x, y = frame.x(i) + 1, frame.y(max(v, low))
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width - 2, 1):.1f}" '
            f'height="{frame.y(low) - y:.1f}" class="bar"><title>{f:g} Hz: {v:.1f} {escape(unit)}'
            "</title></rect>"
        )
    return frame.svg("".join(body), f"1/3-octave band levels, {unit}")


def spectrogram_svg(spectrogram: dict[str, Any]) -> str:
    png = spectrogram.get("png")
    duration = float(spectrogram.get("duration_s") or 0)
    f_min, f_max = float(spectrogram.get("f_min_hz") or 20), float(spectrogram.get("f_max_hz") or 0)
    if not png or duration <= 0 or f_max <= f_min:
        return ""
    frame = _Frame((0, duration), (math.log10(f_min), math.log10(f_max)))
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    body = [
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plotbg"/>',
        f'<image x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" '
        f'preserveAspectRatio="none" href="data:image/png;base64,{png}"/>',
    ]
    for f in (31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000):
        if not f_min <= f <= f_max:
            continue
        y = frame.y(math.log10(f))
        body.append(_line(LEFT - 4, LEFT, y, y, "tickline"))
        body.append(
            _text(LEFT - 6, y + 4, "tick", f"{f / 1000:g}k" if f >= 1000 else f"{f:g}", "end")
        )
    for t, label in _time_ticks(duration):
        body.append(_text(frame.x(t), H - BOTTOM + 16, "tick", label))
    body.append(_text(W - RIGHT, H - 4, "axis", "time (s)", "end"))
    body.append(_text(12, TOP + plot_h / 2, "axis", "frequency (Hz)", rotate=True))
    return frame.svg("".join(body), "Spectrogram")


def hourly_svg(hours: Sequence[Mapping[str, Any]], unit: str) -> str:
    """LAeq per local clock hour as bars; an hour the recording covers only partly is lighter."""
    shown = [h for h in hours if h.get("laeq") is not None]
    if not shown:
        return ""
    values = [float(h["laeq"]) for h in shown]
    high = math.ceil((max(values) + 3) / 5) * 5
    low = max(math.floor((min(values) - 5) / 10) * 10, high - 60)
    frame = _Frame((0, len(shown)), (low, high))
    every = max(1, math.ceil(len(shown) / 12))
    ticks = [(i + 0.5, str(h["start"])[11:13] + "h") for i, h in enumerate(shown) if i % every == 0]
    body = [frame.axes(f"local hour ({len(shown)} h)", f"LAeq ({unit})", x_ticks=ticks)]
    width = (W - LEFT - RIGHT) / len(shown)
    for i, (h, v) in enumerate(zip(shown, values, strict=True)):
        x, y = frame.x(i) + 1, frame.y(max(v, low))
        partial = float(h.get("covered_s") or 0) < 3540
        minutes = float(h.get("covered_s") or 0) / 60
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width - 2, 1):.1f}" '
            f'height="{frame.y(low) - y:.1f}" class="bar{" partial" if partial else ""}">'
            f"<title>{escape(str(h['start']))}: {v:.1f} {escape(unit)} "
            f"({minutes:.0f} min covered)</title></rect>"
        )
    return frame.svg("".join(body), f"LAeq per local clock hour, {unit}")
