"""probe_audio: the header checks made while the uploader waits."""

import shutil
import subprocess
from pathlib import Path

import pytest

from noisebank.ingest.audio import AudioRejected, probe_audio
from noisebank.testing import write_audio

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None,
    reason="ffmpeg is not installed (apt-get install ffmpeg; .ci/run installs it)",
)


def m4a(tmp_path: Path, seconds: float) -> Path:
    wav = write_audio(tmp_path / "a.wav", seconds=seconds)
    out = tmp_path / "a.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "aac", str(out)], check=True)
    return out


def test_a_flac_header_gives_rate_channels_and_duration(tmp_path: Path) -> None:
    info = probe_audio(write_audio(tmp_path / "a.flac", seconds=1.5, format="FLAC"))
    assert (info.format, info.sample_rate, info.channels) == ("FLAC", 48000, 1)
    assert info.duration_s == pytest.approx(1.5)


@needs_ffmpeg
def test_an_m4a_is_probed_by_ffprobe_while_the_uploader_waits(tmp_path: Path) -> None:
    info = probe_audio(m4a(tmp_path, 2.0))
    assert (info.format, info.sample_rate, info.channels) == ("M4A", 48000, 1)
    assert info.duration_s == pytest.approx(2.0, abs=0.1)


@needs_ffmpeg
def test_a_too_short_m4a_is_refused_at_upload(tmp_path: Path) -> None:
    with pytest.raises(AudioRejected, match=r"at least 0.50 s is needed"):
        probe_audio(m4a(tmp_path, 0.2))


@needs_ffmpeg
def test_a_corrupt_m4a_is_refused_at_upload(tmp_path: Path) -> None:
    path = tmp_path / "bad.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00isomiso2" + bytes(4000))
    with pytest.raises(AudioRejected, match="could not be decoded"):
        probe_audio(path)
