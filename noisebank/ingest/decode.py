"""Recordings read block by block: what the worker measures, in memory that does not grow.

``open_audio`` checks a file's header (the checks of ``audio.probe_audio``) and returns an
``AudioSource``; its ``blocks()`` decodes float64 blocks of at most ``BLOCK_SAMPLES`` samples,
shape (frames, channels), full scale 1.0. WAV, FLAC, OGG and MP3 go through libsndfile; M4A/AAC
through ffmpeg writing raw 32-bit float PCM to a pipe, so no decoded copy reaches the disk
either. Each call of ``blocks()`` is a new pass over the file, and every pass checks what only
decoding reveals: a stream longer than the duration limit stops at the limit, a FLAC or Ogg
stream that ends before its header said is truncated, a NaN sample is refused.

``ArraySource`` offers samples already in memory through the same interface, so tests and the
calibrator check measure through the one streaming path too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from noisebank.ingest.audio import (
    ACCEPTED_FORMATS,
    FFMPEG_DEMUXERS,
    MAX_CHANNELS,
    MAX_DURATION_S,
    MIN_DURATION_S,
    MIN_SAMPLE_RATE,
    AudioRejected,
    Limits,
    LoadedAudio,
    check_complete,
    check_stream,
    check_wav_header,
    format_duration,
    looks_like_text,
    sniff_format,
)

# Samples (frames x channels) per block: 2 MB of float64, 5.5 s of 48 kHz mono. Larger blocks
# save little Python overhead; the measuring stages hold a few copies of a block at a time.
BLOCK_SAMPLES = 1 << 18
# ffmpeg gets this long plus a tenth of the longest allowed recording: a hung decoder is killed.
_FFMPEG_TIMEOUT_S = 600


@dataclass(frozen=True)
class AudioSource:
    """A recording to be read in blocks; ``frames_hint`` is the header's length, if it has one."""

    format: str  # "WAV", "FLAC", "OGG", "MP3", "M4A", "AAC" or "array"
    subtype: str  # e.g. "PCM_16", "FLOAT", "VORBIS", "MPEG_LAYER_III", "AAC"
    sample_rate: int
    channels: int
    frames_hint: int | None

    def blocks(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def read_all(self) -> LoadedAudio:
        """Every block joined: for tests and small files, never for the worker."""
        parts = list(self.blocks())
        samples = np.concatenate(parts) if parts else np.zeros((0, self.channels))
        return LoadedAudio(
            samples, self.sample_rate, self.format, self.subtype, len(samples) / self.sample_rate
        )


@dataclass(frozen=True)
class ArraySource(AudioSource):
    samples: np.ndarray

    @classmethod
    def of(cls, samples: np.ndarray, sample_rate: int) -> ArraySource:
        x = np.asarray(samples, dtype=np.float64)
        x = x[:, np.newaxis] if x.ndim == 1 else x
        return cls("array", "FLOAT", sample_rate, x.shape[1], x.shape[0], x)

    def blocks(self) -> Iterator[np.ndarray]:
        step = max(1, BLOCK_SAMPLES // self.channels)
        for start in range(0, len(self.samples), step):
            yield self.samples[start : start + step]


@dataclass(frozen=True)
class GeneratedSource(AudioSource):
    """Blocks made on demand by ``make_blocks`` (a new iterator per pass): long synthetic
    recordings for tests and benchmarks that never exist whole, in memory or on disk."""

    make_blocks: Callable[[], Iterator[np.ndarray]]

    def blocks(self) -> Iterator[np.ndarray]:
        return self.make_blocks()


@dataclass(frozen=True)
class _SoundFileSource(AudioSource):
    path: Path
    limits: Limits

    def blocks(self) -> Iterator[np.ndarray]:
        limits = self.limits
        try:
            with sf.SoundFile(self.path) as f:
                decoded = 0
                frames = max(1, BLOCK_SAMPLES // f.channels)
                while len(block := f.read(frames, dtype="float64", always_2d=True)):
                    decoded += len(block)
                    yield _checked(block, decoded, self.sample_rate, limits)
        except sf.LibsndfileError as exc:
            raise AudioRejected(
                f"The file is damaged or is not a valid {self.format} file ({exc.error_string})."
            ) from exc
        # FLAC and Ogg headers state the exact length; an MP3's is an estimate, WAV's was checked.
        if self.format in ("FLAC", "OGG") and self.frames_hint is not None:
            check_complete(decoded, self.frames_hint, self.sample_rate, limits)
        _check_decoded_length(decoded, self.sample_rate, limits)


@dataclass(frozen=True)
class _FfmpegSource(AudioSource):
    path: Path
    limits: Limits

    def blocks(self) -> Iterator[np.ndarray]:
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise AudioRejected("M4A/AAC needs ffmpeg, which is not installed on this server.")
        # Forced demuxer, local files only: left to guess, ffmpeg would follow an upload that
        # is really a playlist to other files or hosts. "-t" one second past the limit is
        # enough to tell "too long" without decoding hours.
        command = [
            ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-protocol_whitelist", "file",
            "-f", FFMPEG_DEMUXERS[self.format], "-i", str(self.path.resolve()), "-map", "0:a:0",
            "-t", str(self.limits.max_duration_s + 1), "-f", "f32le", "-c:a", "pcm_f32le",
            "pipe:1",
        ]  # fmt: skip
        frame_bytes = 4 * self.channels
        chunk = max(1, BLOCK_SAMPLES // self.channels) * frame_bytes
        with (
            tempfile.TemporaryFile() as log,
            subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log
            ) as process,
        ):
            timed_out = threading.Event()

            def kill() -> None:
                timed_out.set()
                process.kill()

            watchdog = threading.Timer(_FFMPEG_TIMEOUT_S + self.limits.max_duration_s / 10, kill)
            watchdog.start()
            try:
                decoded = 0
                assert process.stdout is not None
                while raw := process.stdout.read(chunk):
                    usable = len(raw) - len(raw) % frame_bytes
                    block = np.frombuffer(raw[:usable], "<f4").reshape(-1, self.channels)
                    decoded += len(block)
                    yield _checked(block.astype(np.float64), decoded, self.sample_rate, self.limits)
                returncode = process.wait()
            finally:
                watchdog.cancel()
                if process.poll() is None:
                    process.kill()
            if timed_out.is_set():
                raise AudioRejected("Decoding the file took too long; it may be damaged.")
            if returncode != 0:
                log.seek(0)
                lines = log.read().decode("utf-8", "replace").strip().splitlines()
                last = lines[-1] if lines else "unknown error"
                last = last.replace(f"{self.path.resolve()}: ", "")  # server paths are not news
                raise AudioRejected(f"The {self.format} file could not be decoded ({last}).")
        _check_decoded_length(decoded, self.sample_rate, self.limits)


def open_audio(
    path: str | os.PathLike[str],
    *,
    max_duration_s: float = MAX_DURATION_S,
    min_duration_s: float = MIN_DURATION_S,
    min_sample_rate: int = MIN_SAMPLE_RATE,
    max_channels: int = MAX_CHANNELS,
) -> AudioSource:
    """A recording's header checked and ready to be read block by block, or ``AudioRejected``."""
    limits = Limits(max_duration_s, min_duration_s, min_sample_rate, max_channels)
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise AudioRejected("The file is empty (0 bytes).")
    with path.open("rb") as f:
        head = f.read(4096)
    container = sniff_format(head)
    if container in ("M4A", "AAC"):
        return _open_with_ffprobe(path, container, limits)
    if container is None:
        if looks_like_text(head):
            raise AudioRejected(f"The file contains text, not audio. Upload {ACCEPTED_FORMATS}.")
        raise AudioRejected(f"Unsupported or unrecognised file format. Upload {ACCEPTED_FORMATS}.")
    if container == "WAV":
        check_wav_header(path, head, size, limits)
    try:
        with sf.SoundFile(path) as f:
            rate, channels, frames, subtype = f.samplerate, f.channels, f.frames, f.subtype
    except (sf.LibsndfileError, RuntimeError) as exc:
        detail = getattr(exc, "error_string", None) or "unreadable header"
        raise AudioRejected(
            f"The file is damaged or is not a valid {container} file ({detail})."
        ) from exc
    check_stream(rate, channels, limits)
    return _SoundFileSource(container, subtype, rate, channels, frames, path, limits)


def _open_with_ffprobe(path: Path, container: str, limits: Limits) -> AudioSource:
    """M4A/AAC: the stream's rate and channels from ffprobe, for reading ffmpeg's raw output."""
    ffprobe = shutil.which("ffprobe")
    if shutil.which("ffmpeg") is None or ffprobe is None:
        raise AudioRejected("M4A/AAC needs ffmpeg, which is not installed on this server.")
    command = [
        ffprobe, "-v", "error", "-protocol_whitelist", "file", "-f", FFMPEG_DEMUXERS[container],
        "-select_streams", "a:0", "-show_entries",
        "stream=sample_rate,channels,codec_name:format=duration", "-of", "json",
        str(path.resolve()),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, check=False, capture_output=True, timeout=60)
        found = json.loads(done.stdout or b"{}")
    except (subprocess.TimeoutExpired, ValueError) as exc:
        raise AudioRejected(f"The {container} file could not be read (ffprobe failed).") from exc
    streams = found.get("streams") or []
    if done.returncode != 0 or not streams:
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = last[-1].replace(f"{path.resolve()}: ", "") if last else "no audio stream"
        raise AudioRejected(f"The {container} file could not be decoded ({detail}).")
    stream = streams[0]
    rate, channels = int(stream.get("sample_rate") or 0), int(stream.get("channels") or 0)
    check_stream(rate, channels, limits)
    raw = (found.get("format") or {}).get("duration")
    frames = round(float(raw) * rate) if raw not in (None, "N/A") else None
    codec = str(stream.get("codec_name") or "unknown").upper()
    return _FfmpegSource(container, codec, rate, channels, frames, path, limits)


def _checked(block: np.ndarray, decoded: int, sample_rate: int, limits: Limits) -> np.ndarray:
    if decoded > limits.max_duration_s * sample_rate + 1:
        raise AudioRejected(
            f"The recording is longer than the {format_duration(limits.max_duration_s)} limit."
        )
    if not np.isfinite(block).all():
        raise AudioRejected("The file contains invalid samples (NaN or infinity).")
    return block


def _check_decoded_length(decoded: int, sample_rate: int, limits: Limits) -> None:
    if decoded == 0:
        raise AudioRejected("The file holds no audio samples.")
    duration = decoded / sample_rate
    if duration < limits.min_duration_s:
        raise AudioRejected(
            f"The recording is {format_duration(duration)} long; at least "
            f"{format_duration(limits.min_duration_s)} is needed."
        )
