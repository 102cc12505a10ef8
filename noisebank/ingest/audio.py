"""Loading and validating uploaded recordings.

``load_audio`` accepts WAV, FLAC, OGG (Vorbis, Opus) and MP3 through soundfile (libsndfile), and
M4A/AAC through ffmpeg when the server has it. The format is recognised from the file's first
bytes, never from its name. Anything else raises ``AudioRejected`` whose ``reason`` can be shown
to the uploader as it is.

Nothing is allocated from what a header claims: samples are decoded block by block and decoding
stops at the duration limit, so a header announcing ten hours cannot exhaust memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

MAX_DURATION_S = 24 * 3600.0
MIN_DURATION_S = 0.5
MIN_SAMPLE_RATE = 8000
MAX_CHANNELS = 32

ACCEPTED_FORMATS = "WAV, FLAC, OGG, MP3 or M4A/AAC"
FFMPEG_DEMUXERS = {"M4A": "mov", "AAC": "aac"}
# MP3 and Ogg frame counts are estimates (encoder delay, Xing tables): allow this much shortfall.
_DECODE_SHORTFALL_TOLERANCE = 0.01


class AudioRejected(Exception):
    """The upload cannot be used; ``reason`` says why in words a collector understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LoadedAudio:
    samples: np.ndarray  # float64, shape (frames, channels), full scale = 1.0
    sample_rate: int
    format: str  # "WAV", "FLAC", "OGG", "MP3", "M4A" or "AAC"
    subtype: str  # e.g. "PCM_16", "FLOAT", "VORBIS", "MPEG_LAYER_III", "AAC"
    duration_s: float

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[0])


@dataclass(frozen=True)
class Limits:
    max_duration_s: float
    min_duration_s: float
    min_sample_rate: int
    max_channels: int


def load_audio(
    path: str | os.PathLike[str],
    *,
    max_duration_s: float = MAX_DURATION_S,
    min_duration_s: float = MIN_DURATION_S,
    min_sample_rate: int = MIN_SAMPLE_RATE,
    max_channels: int = MAX_CHANNELS,
) -> LoadedAudio:
    """Decode a whole recording into float64 samples, or raise ``AudioRejected``.

    For tests and small files only: the worker measures through ``decode.open_audio``, which
    reads the same blocks one at a time and never holds the whole file.
    """
    from noisebank.ingest.decode import open_audio

    source = open_audio(
        path,
        max_duration_s=max_duration_s,
        min_duration_s=min_duration_s,
        min_sample_rate=min_sample_rate,
        max_channels=max_channels,
    )
    return source.read_all()


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says; ``None`` where only decoding can tell (M4A/AAC)."""

    format: str
    sample_rate: int | None
    channels: int | None
    duration_s: float | None


def probe_audio(
    path: str | os.PathLike[str],
    *,
    max_duration_s: float = MAX_DURATION_S,
    min_duration_s: float = MIN_DURATION_S,
    min_sample_rate: int = MIN_SAMPLE_RATE,
    max_channels: int = MAX_CHANNELS,
) -> AudioInfo:
    """The checks of ``load_audio`` that headers can answer, without decoding the samples.

    Cheap enough for the upload request, so a collector learns at once that a file is text, empty,
    truncated, too short, too long or sampled too slowly. What only decoding reveals (a FLAC that
    stops mid-stream, a corrupt MP3 frame, anything in M4A/AAC) is left to ``load_audio`` in the
    worker, where it marks the recording failed with the reason and keeps the bytes.
    """
    limits = Limits(max_duration_s, min_duration_s, min_sample_rate, max_channels)
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise AudioRejected("The file is empty (0 bytes).")
    with path.open("rb") as f:
        head = f.read(4096)
    container = sniff_format(head)
    if container in ("M4A", "AAC"):
        if shutil.which("ffmpeg") is None:
            raise AudioRejected("M4A/AAC needs ffmpeg, which is not installed on this server.")
        return _probe_with_ffprobe(path, container, limits)
    if container is None:
        if looks_like_text(head):
            raise AudioRejected(f"The file contains text, not audio. Upload {ACCEPTED_FORMATS}.")
        raise AudioRejected(f"Unsupported or unrecognised file format. Upload {ACCEPTED_FORMATS}.")
    if container == "WAV":
        check_wav_header(path, head, size, limits)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        detail = getattr(exc, "error_string", None) or "unreadable header"
        raise AudioRejected(
            f"The file is damaged or is not a valid {container} file ({detail})."
        ) from exc
    check_stream(info.samplerate, info.channels, limits)
    if info.frames <= 0:
        raise AudioRejected("The file holds no audio samples.")
    return _check_duration(AudioInfo(container, info.samplerate, info.channels,
                                     info.frames / info.samplerate), limits)  # fmt: skip


def _check_duration(info: AudioInfo, limits: Limits) -> AudioInfo:
    duration = info.duration_s
    if duration is None:
        return info
    if duration > limits.max_duration_s:
        raise AudioRejected(
            f"The recording is {format_duration(duration)} long, more than the "
            f"{format_duration(limits.max_duration_s)} limit."
        )
    if duration < limits.min_duration_s:
        raise AudioRejected(
            f"The recording is {format_duration(duration)} long; at least "
            f"{format_duration(limits.min_duration_s)} is needed."
        )
    return info


def _probe_with_ffprobe(path: Path, container: str, limits: Limits) -> AudioInfo:
    """Header facts of an M4A/AAC file from ffprobe; unknown (left to the worker) without it."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return AudioInfo(container, None, None, None)
    command = [
        ffprobe, "-v", "error", "-protocol_whitelist", "file", "-f", FFMPEG_DEMUXERS[container],
        "-select_streams", "a:0", "-show_entries", "stream=sample_rate,channels:format=duration",
        "-of", "json", str(path.resolve()),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, check=False, capture_output=True, timeout=60)
        found = json.loads(done.stdout or b"{}")
    except (subprocess.TimeoutExpired, ValueError):
        return AudioInfo(container, None, None, None)
    streams = found.get("streams") or []
    if done.returncode != 0 or not streams:
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = last[-1].replace(f"{path.resolve()}: ", "") if last else "no audio stream"
        raise AudioRejected(f"The {container} file could not be decoded ({detail}).")
    stream = streams[0]
    sample_rate, channels = int(stream.get("sample_rate") or 0), int(stream.get("channels") or 0)
    if sample_rate and channels:
        check_stream(sample_rate, channels, limits)
    raw = (found.get("format") or {}).get("duration")
    duration = float(raw) if raw not in (None, "N/A") else None
    return _check_duration(
        AudioInfo(container, sample_rate or None, channels or None, duration), limits
    )


def sniff_format(head: bytes) -> str | None:
    """Name the container from a file's first bytes: WAV, FLAC, OGG, MP3, M4A, AAC or None."""
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "WAV"
    if head[:4] == b"fLaC":
        return "FLAC"
    if head[:4] == b"OggS":
        return "OGG"
    if head[4:8] == b"ftyp":
        return "M4A"
    if head[:3] == b"ID3":
        return "MP3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # MPEG audio frame sync; layer bits 00 mean an ADTS (AAC) stream instead.
        return "AAC" if head[1] & 0x06 == 0 else "MP3"
    return None


def sha256_of(path: str | os.PathLike[str]) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


_UNSAFE_CHARS = re.compile(r'[<>:"/\\|?*]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


def sanitize_filename(name: str, *, max_length: int = 150, fallback: str = "recording") -> str:
    """A safe, readable file name: no directories, no control characters, never empty.

    Letters of any script survive ("Zürich HB.wav" stays as it is); characters that mean
    something to a file system or a shell become "_".
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    name = " ".join(_UNSAFE_CHARS.sub("_", name).split()).lstrip(". ").rstrip(". ")
    if _WINDOWS_RESERVED.match(name):
        name = f"_{name}"
    stem, dot, ext = name.rpartition(".")
    if dot and len(ext) <= 10:
        name = f"{stem[: max_length - len(ext) - 1]}.{ext}"
    name = name[:max_length]
    return name or fallback


def validate_filename(name: str) -> str:
    """Refuse names that try path tricks; otherwise return the sanitised name.

    For uploads from scripts and the API, where a directory part or a control character in a
    name is a sign of a broken or hostile client rather than of a user's typing.
    """
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise AudioRejected("The file name contains control characters.")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise AudioRejected("The file name contains '..': directory tricks are not allowed.")
    if len(parts) > 1:
        raise AudioRejected("The file name contains a directory part ('/' or '\\').")
    if not sanitize_filename(name, fallback=""):
        raise AudioRejected("The file name is empty.")
    return sanitize_filename(name)


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 1 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def check_stream(sample_rate: int, channels: int, limits: Limits) -> None:
    if sample_rate < limits.min_sample_rate:
        raise AudioRejected(
            f"The sample rate is {sample_rate} Hz; at least {limits.min_sample_rate} Hz is needed."
        )
    if not 1 <= channels <= limits.max_channels:
        raise AudioRejected(
            f"The file has {channels} channels; between 1 and {limits.max_channels} are accepted."
        )


def check_complete(decoded: int, claimed: int, sample_rate: int, limits: Limits) -> None:
    shortfall = claimed - decoded
    if shortfall <= max(_DECODE_SHORTFALL_TOLERANCE * claimed, 0.05 * sample_rate):
        return
    claimed_text = format_duration(claimed / sample_rate)
    held_text = format_duration(decoded / sample_rate)
    if claimed / sample_rate > limits.max_duration_s:
        raise AudioRejected(
            f"The header claims {claimed_text} of audio but the file holds only {held_text}: "
            "the header is corrupt."
        )
    raise AudioRejected(
        f"The file is truncated: its header announces {claimed_text} of audio but only "
        f"{held_text} is present (was the recording or the upload interrupted?)."
    )


def check_wav_header(path: Path, head: bytes, size: int, limits: Limits) -> None:
    """Compare the length a WAV header announces with the bytes present.

    libsndfile silently trims the announced length to the file size, so it cannot tell a
    truncated upload or a forged header from a short recording; the header itself can.
    """
    header = _wav_data_chunk(path, head)
    if header is None:
        return  # an unusual layout: let libsndfile judge it
    sample_rate, block_align, data_offset, data_size = header
    if sample_rate <= 0 or block_align <= 0:
        return
    claimed = data_size // block_align
    present = max(0, size - data_offset) // block_align
    check_complete(min(present, claimed), claimed, sample_rate, limits)
    if claimed / sample_rate > limits.max_duration_s:
        raise AudioRejected(
            f"The recording is {format_duration(claimed / sample_rate)} long, more than the "
            f"{format_duration(limits.max_duration_s)} limit."
        )


def _wav_data_chunk(path: Path, head: bytes) -> tuple[int, int, int, int] | None:
    """(sample rate, block align, data offset, data size) from a RIFF/RF64 header."""
    sample_rate = block_align = 0
    ds64_data_size = None
    with path.open("rb") as f:
        f.seek(12)
        while len(chunk := f.read(8)) == 8:
            chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"data":
                if head[:4] == b"RF64" and chunk_size == 0xFFFFFFFF:
                    if ds64_data_size is None:
                        return None
                    chunk_size = ds64_data_size
                return sample_rate, block_align, f.tell(), chunk_size
            body = f.read(min(chunk_size, 64))
            if chunk_id == b"fmt " and len(body) >= 14:
                _, _, sample_rate, _, block_align = struct.unpack("<HHIIH", body[:14])
            elif chunk_id == b"ds64" and len(body) >= 16:
                ds64_data_size = struct.unpack("<Q", body[8:16])[0]
            f.seek(chunk_size + (chunk_size & 1) - len(body), os.SEEK_CUR)
    return None


def looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character may be cut at the end of the sample.
        try:
            text = head[:-4].decode("utf-8")
        except UnicodeDecodeError:
            return False
    printable = sum(c.isprintable() or c in "\r\n\t" for c in text)
    return printable >= 0.95 * max(len(text), 1)
