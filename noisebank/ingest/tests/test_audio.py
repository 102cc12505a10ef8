"""Loading, validating and naming uploaded recordings (noisebank.ingest.audio)."""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from noisebank.ingest.audio import (
    AudioRejected,
    load_audio,
    sanitize_filename,
    sha256_of,
    validate_filename,
)
from noisebank.lib import synth

FS = 48_000
TONE = synth.sine(1000, 2.0, rms=0.25)


def write(path: Path, samples: np.ndarray = TONE, rate: int = FS, **kwargs: str) -> Path:
    sf.write(path, samples, rate, **kwargs)
    return path


def rejection(path: Path, **limits: float) -> str:
    with pytest.raises(AudioRejected) as caught:
        load_audio(path, **limits)
    return caught.value.reason


@pytest.mark.parametrize(
    ("name", "fmt", "subtype", "tolerance"),
    [
        ("a.wav", "WAV", "PCM_16", 1e-4),
        ("a.wav", "WAV", "PCM_24", 1e-6),
        ("a.wav", "WAV", "PCM_32", 1e-6),
        ("a.wav", "WAV", "FLOAT", 1e-7),
        ("a.flac", "FLAC", "PCM_16", 1e-4),
        ("a.ogg", "OGG", "VORBIS", 0.02),
        ("a.mp3", "MP3", "MPEG_LAYER_III", 0.02),
    ],
)
def test_loads_every_soundfile_format_as_float64_frames_by_channels(
    tmp_path: Path, name: str, fmt: str, subtype: str, tolerance: float
) -> None:
    path = write(tmp_path / name, format=fmt, subtype=subtype)

    audio = load_audio(path)

    assert (audio.format, audio.subtype, audio.sample_rate) == (fmt, subtype, FS)
    assert audio.samples.dtype == np.float64
    assert audio.samples.shape == (96_000, 1)
    assert (audio.channels, audio.num_samples, audio.duration_s) == (1, 96_000, 2.0)
    rms = float(np.sqrt(np.mean(audio.samples**2)))
    assert rms == pytest.approx(0.25, rel=tolerance)


def test_stereo_keeps_its_channels(tmp_path: Path) -> None:
    path = write(tmp_path / "s.wav", np.column_stack([TONE, 0.5 * TONE]), subtype="PCM_24")

    audio = load_audio(path)

    assert audio.samples.shape == (96_000, 2)
    assert np.abs(audio.samples[:, 1]).max() == pytest.approx(0.5 * np.abs(TONE).max(), rel=1e-4)


def test_format_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    flac_named_wav = write(tmp_path / "flac.wav", format="FLAC")
    wav_named_mp3 = write(tmp_path / "wav.mp3", format="WAV", subtype="PCM_16")

    assert load_audio(flac_named_wav).format == "FLAC"
    assert load_audio(wav_named_mp3).format == "WAV"


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")

    assert rejection(path) == "The file is empty (0 bytes)."


def test_truncated_wav_is_rejected(tmp_path: Path) -> None:
    whole = write(tmp_path / "whole.wav", subtype="PCM_16").read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(whole[: len(whole) // 2])

    assert rejection(path) == (
        "The file is truncated: its header announces 2.0 s of audio but only 1.00 s is present "
        "(was the recording or the upload interrupted?)."
    )


def test_text_renamed_wav_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("recording_id,location\n17,Platform 3 \u2013 north end\n", encoding="utf-8")

    assert rejection(path) == (
        "The file contains text, not audio. Upload WAV, FLAC, OGG, MP3 or M4A/AAC."
    )


def test_header_claiming_ten_hours_in_a_tiny_file_is_rejected(tmp_path: Path) -> None:
    whole = write(tmp_path / "whole.wav", subtype="PCM_16").read_bytes()
    header = bytearray(whole[:44])
    data_bytes = 10 * 3600 * FS * 2
    struct.pack_into("<I", header, 4, data_bytes + 36)
    struct.pack_into("<I", header, 40, data_bytes)
    path = tmp_path / "ten_hours.wav"
    path.write_bytes(bytes(header) + whole[44 : 44 + FS * 2])

    # Over the limit, the header is taken as corrupt; within it (24 h by default), as truncated.
    assert rejection(path, max_duration_s=4 * 3600) == (
        "The header claims 10 h 00 min of audio but the file holds only 1.0 s: "
        "the header is corrupt."
    )


def test_recording_longer_than_the_limit_is_rejected(tmp_path: Path) -> None:
    wav = write(tmp_path / "long.wav", subtype="PCM_16")
    flac = write(tmp_path / "long.flac")

    assert rejection(wav, max_duration_s=1.5) == (
        "The recording is 2.0 s long, more than the 1.5 s limit."
    )
    assert rejection(flac, max_duration_s=1.5) == "The recording is longer than the 1.5 s limit."


def test_hundredth_of_a_second_is_too_short(tmp_path: Path) -> None:
    path = write(tmp_path / "blip.wav", TONE[:480], subtype="PCM_16")

    assert rejection(path) == "The recording is 0.01 s long; at least 0.50 s is needed."


def test_the_minimum_duration_is_a_parameter(tmp_path: Path) -> None:
    path = write(tmp_path / "short.wav", TONE[:14_400], subtype="PCM_16")

    assert load_audio(path, min_duration_s=0.25).duration_s == pytest.approx(0.3)
    assert "at least 0.50 s" in rejection(path)


def test_4_khz_sample_rate_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "phone.wav", synth.sine(500, 2.0, rms=0.1, sample_rate=4000), 4000)

    assert rejection(path) == "The sample rate is 4000 Hz; at least 8000 Hz is needed."


def test_unsupported_audio_format_is_rejected(tmp_path: Path) -> None:
    aiff = write(tmp_path / "a.wav", format="AIFF", subtype="PCM_16")
    noise = tmp_path / "noise.wav"
    noise.write_bytes(np.random.default_rng(0).bytes(4000))

    expected = "Unsupported or unrecognised file format. Upload WAV, FLAC, OGG, MP3 or M4A/AAC."
    assert rejection(aiff) == expected
    assert rejection(noise) == expected


def test_corrupt_flac_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.flac"
    path.write_bytes(b"fLaC" + np.random.default_rng(1).bytes(4000))

    assert rejection(path).startswith("The file is damaged or is not a valid FLAC file (")


def test_float_wav_with_nan_samples_is_rejected(tmp_path: Path) -> None:
    broken = TONE.copy()
    broken[1000] = np.nan
    path = write(tmp_path / "nan.wav", broken, subtype="FLOAT")

    assert rejection(path) == "The file contains invalid samples (NaN or infinity)."


def test_m4a_without_ffmpeg_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "phone-recording.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00isomiso2" + bytes(4000))
    monkeypatch.setattr(shutil, "which", lambda name: None)

    assert rejection(path) == "M4A/AAC needs ffmpeg, which is not installed on this server."


@pytest.mark.skipif(
    shutil.which("ffmpeg") is None,
    reason="ffmpeg is not installed (apt-get install ffmpeg; .ci/run installs it)",
)
def test_m4a_is_decoded_through_ffmpeg(tmp_path: Path) -> None:
    wav = write(tmp_path / "a.wav", subtype="PCM_16")
    m4a = tmp_path / "a.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "aac", "-b:a", "128k", str(m4a)],
        check=True,
    )

    audio = load_audio(m4a)

    assert (audio.format, audio.subtype, audio.sample_rate) == ("M4A", "AAC", FS)
    assert audio.duration_s == pytest.approx(2.0, abs=0.05)
    assert float(np.sqrt(np.mean(audio.samples**2))) == pytest.approx(0.25, rel=0.02)


@pytest.mark.skipif(
    shutil.which("ffmpeg") is None,
    reason="ffmpeg is not installed (apt-get install ffmpeg; .ci/run installs it)",
)
def test_corrupt_m4a_is_rejected_with_ffmpegs_complaint(tmp_path: Path) -> None:
    path = tmp_path / "bad.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00isomiso2" + bytes(4000))

    assert rejection(path) == (
        "The M4A file could not be decoded (Invalid data found when processing input)."
    )


def test_sha256_matches_hashlib(tmp_path: Path) -> None:
    path = write(tmp_path / "a.flac")

    assert sha256_of(path) == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\field\\Platform 3.wav", "Platform 3.wav"),
        ("bell\x00\x07\r\n.wav", "bell.wav"),
        ("\u202eval.exe.wav", "val.exe.wav"),
        ("Zürich HB \u2013 Gleis 7.flac", "Zürich HB \u2013 Gleis 7.flac"),
        ('what?<is>"this"*.wav', "what__is__this__.wav"),
        ("..", "recording"),
        ("", "recording"),
        ("  .hidden.wav ", "hidden.wav"),
        ("CON.wav", "_CON.wav"),
        ("x" * 300 + ".wav", "x" * 146 + ".wav"),
    ],
)
def test_sanitize_filename_keeps_a_safe_readable_name(name: str, safe: str) -> None:
    assert sanitize_filename(name) == safe


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../etc/passwd", "The file name contains '..': directory tricks are not allowed."),
        ("..", "The file name contains '..': directory tricks are not allowed."),
        ("bell\x07.wav", "The file name contains control characters."),
        ("bell\r\n.wav", "The file name contains control characters."),
        ("uploads/bell.wav", "The file name contains a directory part ('/' or '\\')."),
        ("   ", "The file name is empty."),
    ],
)
def test_validate_filename_refuses_path_tricks(name: str, reason: str) -> None:
    with pytest.raises(AudioRejected) as caught:
        validate_filename(name)

    assert caught.value.reason == reason


def test_validate_filename_returns_the_sanitized_name() -> None:
    assert validate_filename(" Zürich HB.wav") == "Zürich HB.wav"
