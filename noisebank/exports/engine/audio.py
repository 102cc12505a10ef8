"""Audio for dataset bundles: resampled, mixed down to mono, cut into fixed-length segments.

A file is read block by block (soundfile) and each output file is encoded (WAV or FLAC, by
libsndfile) into a spooled temporary file — memory up to SPOOL_BYTES, then disk — that the
bundle copies into the zip: nothing holds a long recording whole.

Resampling is scipy's `resample_poly` (polyphase, zero-phase FIR), run block by block on
overlapping windows: each block is read with enough context on both sides for the filter
(its half-length, rounded to whole `down` steps) and only the block's own output is kept, so
the samples are those of `resample_poly` over the whole file (tested to 1e-12).

Mono is the mean of the channels. Segments are `segment_seconds` long at the output rate
(rounded to whole samples), cut from the start: the last, shorter one is zero-padded to full
length (`pad`), kept short (`keep`) or dropped (`drop`).

Samples: with neither resampling nor mixing, PCM sources are copied as integers, so a WAV
segment holds exactly the source's samples; otherwise as float64, clipped to [-1, 1] for
integer outputs. Output sample format: WAV keeps the source's (PCM_U8/16/24/32, FLOAT, DOUBLE;
PCM_16 for any other); FLAC is PCM_16 for sources of 16 bits or fewer, PCM_24 otherwise.
"""

import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import numpy as np
import soundfile

BLOCK_FRAMES = 1 << 16
SPOOL_BYTES = 8 << 20
AudioFormat = Literal["original", "wav", "flac"]
Remainder = Literal["pad", "keep", "drop"]
_WAV_SUBTYPES = {"PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"}
_SMALL_SUBTYPES = {"PCM_S8", "PCM_U8", "PCM_16"}


@dataclass(frozen=True)
class AudioSpec:
    """What to do to each recording's audio (all off: files are copied as they are)."""

    sample_rate: int | None = None  # output rate in Hz; None keeps each file's own
    mono: bool = False
    segment_seconds: float | None = None
    segment_remainder: Remainder = "pad"
    audio_format: AudioFormat = "original"

    def __post_init__(self) -> None:
        if self.sample_rate is not None and self.sample_rate < 1:
            raise ValueError(f"sample_rate must be at least 1 Hz, not {self.sample_rate}")
        if self.segment_seconds is not None and not (
            math.isfinite(self.segment_seconds) and self.segment_seconds > 0
        ):
            raise ValueError(f"segment_seconds must be above 0, not {self.segment_seconds}")
        if self.segment_remainder not in ("pad", "keep", "drop"):
            raise ValueError("segment_remainder must be pad, keep or drop")
        if self.audio_format not in ("original", "wav", "flac"):
            raise ValueError("audio_format must be original, wav or flac")

    @property
    def transforms(self) -> bool:
        """True when files are decoded and encoded again (else copied byte for byte)."""
        return (
            self.sample_rate is not None
            or self.mono
            or self.segment_seconds is not None
            or self.audio_format != "original"
        )

    @property
    def output_format(self) -> str | None:
        """WAV or FLAC for re-encoded files (FLAC when `original` cannot be kept); None: copied."""
        if not self.transforms:
            return None
        return "WAV" if self.audio_format == "wav" else "FLAC"


@dataclass(frozen=True)
class Segment:
    index: int
    start: int  # first output frame
    frames: int  # frames of audio (the file holds `length` frames: more when padded)
    length: int


@dataclass(frozen=True)
class AudioPlan:
    """What one source becomes: its output rate, channels, sample format and files."""

    source: str
    rate: int
    channels: int
    format: str  # WAV or FLAC
    subtype: str
    in_rate: int
    in_frames: int
    integer_copy: bool  # samples copied as integers (no resampling or mixing)
    frames: int  # output frames
    segment_frames: int | None  # None: the whole file is one output
    remainder: Remainder

    @property
    def extension(self) -> str:
        return self.format.lower()

    @property
    def segments(self) -> tuple[Segment, ...]:
        return plan_segments(self.frames, self.segment_frames, self.remainder)


def output_subtype(source_subtype: str, fmt: str) -> str:
    if fmt == "WAV":
        return source_subtype if source_subtype in _WAV_SUBTYPES else "PCM_16"
    return "PCM_16" if source_subtype in _SMALL_SUBTYPES else "PCM_24"


def rate_ratio(in_rate: int, out_rate: int) -> tuple[int, int]:
    g = math.gcd(in_rate, out_rate)
    return out_rate // g, in_rate // g


def resampled_frames(frames: int, up: int, down: int) -> int:
    """Frames resample_poly gives for `frames` input frames: ceil(frames * up / down)."""
    return -(-frames * up // down)


def plan_segments(frames: int, length: int | None, remainder: Remainder) -> tuple[Segment, ...]:
    """Fixed-length cuts of `frames` output frames (one whole-file "segment" if length None)."""
    if length is None:
        return (Segment(0, 0, frames, frames),)
    whole, rest = divmod(frames, length)
    segments = [Segment(i, i * length, length, length) for i in range(whole)]
    if rest and remainder != "drop":
        padded = length if remainder == "pad" else rest
        segments.append(Segment(whole, whole * length, rest, padded))
    return tuple(segments)


def plan_audio(source: str | Path, spec: AudioSpec) -> AudioPlan:
    """Read the file's header and plan its output; soundfile.LibsndfileError if unreadable."""
    info = soundfile.info(str(source))
    fmt = spec.output_format or "FLAC"
    rate = spec.sample_rate or info.samplerate
    up, down = rate_ratio(info.samplerate, rate)
    frames = resampled_frames(info.frames, up, down)
    length = None
    if spec.segment_seconds is not None:
        length = max(1, round(spec.segment_seconds * rate))
    integer_copy = up == down and not (spec.mono and info.channels > 1)
    return AudioPlan(
        source=str(source),
        rate=rate,
        channels=1 if spec.mono else info.channels,
        format=fmt,
        subtype=output_subtype(info.subtype, fmt),
        in_rate=info.samplerate,
        in_frames=info.frames,
        integer_copy=integer_copy and info.subtype.startswith("PCM"),
        frames=frames,
        segment_frames=length,
        remainder=spec.segment_remainder,
    )


def _mix(block: np.ndarray, mono: bool) -> np.ndarray:
    return block.mean(axis=1, keepdims=True) if mono and block.shape[1] > 1 else block


def output_blocks(
    f: soundfile.SoundFile, plan: AudioPlan, block_frames: int = BLOCK_FRAMES
) -> Iterator[np.ndarray]:
    """The whole output signal, (frames, channels) a block at a time."""
    mono = plan.channels == 1 and f.channels > 1
    dtype = "int32" if plan.integer_copy else "float64"
    up, down = rate_ratio(plan.in_rate, plan.rate)
    n_in = plan.in_frames
    if up == down:
        f.seek(0)
        for block in f.blocks(blocksize=block_frames, dtype=dtype, always_2d=True):
            yield _mix(block, mono)
        return
    from scipy.signal import resample_poly  # scipy.signal takes a while to import: only here

    # resample_poly's filter spans 10 * max(up, down) upsampled samples on each side of a point.
    context = down * math.ceil((10 * max(up, down) // up + 2) / down)
    step = down * max(1, block_frames // down)
    n_out = resampled_frames(n_in, up, down)
    for start in range(0, n_in, step):
        lo, hi = max(0, start - context), min(n_in, start + step + context)
        f.seek(lo)
        x = _mix(f.read(hi - lo, dtype="float64", always_2d=True), mono)
        y = resample_poly(x, up, down, axis=0)
        first = (start - lo) * up // down
        count = min((start + step) * up // down, n_out) - start * up // down
        yield y[first : first + count]


class _Encoder:
    """One output file being written into a spooled temporary file."""

    def __init__(self, plan: AudioPlan) -> None:
        self.spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.file = soundfile.SoundFile(
            self.spool,
            mode="w",
            samplerate=plan.rate,
            channels=plan.channels,
            format=plan.format,
            subtype=plan.subtype,
        )
        self.clip = not plan.integer_copy and not plan.subtype.startswith(("FLOAT", "DOUBLE"))

    def write(self, block: np.ndarray) -> None:
        if len(block):
            self.file.write(np.clip(block, -1.0, 1.0) if self.clip else block)

    def finish(self) -> tuple[IO[bytes], int]:
        self.file.close()
        size = self.spool.seek(0, 2)
        self.spool.seek(0)
        return self.spool, size


def render(
    plan: AudioPlan, block_frames: int = BLOCK_FRAMES
) -> Iterator[tuple[Segment, IO[bytes], int]]:
    """Each planned segment as (segment, a file positioned at its start, its size in bytes).

    Read each file before asking for the next: it is closed (and its disk space freed) then.
    """
    segments = iter(plan.segments)
    current = next(segments, None)
    if current is None:
        return
    encoder = _Encoder(plan)
    done = 0  # output frames consumed so far
    dtype = np.int32 if plan.integer_copy else np.float64
    with soundfile.SoundFile(plan.source) as f:
        for block in output_blocks(f, plan, block_frames):
            at = 0
            while current is not None and at < len(block):
                want = current.start + current.frames - done
                take = block[at : at + want]
                encoder.write(take)
                at += len(take)
                done += len(take)
                if done == current.start + current.frames:
                    yield from _close(encoder, current, plan, dtype)
                    current = next(segments, None)
                    if current is not None:
                        encoder = _Encoder(plan)
            if current is None:
                break
    if current is not None:  # the source held fewer frames than its header said
        yield from _close(encoder, current, plan, dtype)


def _close(
    encoder: _Encoder, segment: Segment, plan: AudioPlan, dtype: type
) -> Iterator[tuple[Segment, IO[bytes], int]]:
    padding = segment.length - segment.frames
    if padding > 0:
        encoder.write(np.zeros((padding, plan.channels), dtype=dtype))
    spool, size = encoder.finish()
    try:
        yield segment, spool, size
    finally:
        spool.close()
