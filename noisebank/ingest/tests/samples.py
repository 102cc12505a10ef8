"""The bad-input batch of issue 5, as real files, shared by the service, API and bulk tests."""

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from noisebank.testing import wav_with_claimed_length, write_audio

TWO_GB = 2 * 1024**3


@dataclass
class Sample:
    filename: str  # the name the client sends
    path: Path
    expect: str | None  # a piece of the rejection reason; None: accepted
    kind: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def bad_batch(folder: Path, *, with_huge: bool = True) -> list[Sample]:
    """Good files mixed with every bad input; the order matters (the duplicate comes second)."""
    folder.mkdir(parents=True, exist_ok=True)
    good = write_audio(folder / "good.wav", seed=1)
    duplicate = folder / "copy-of-good.wav"
    shutil.copyfile(good, duplicate)
    empty = folder / "empty.wav"
    empty.touch()
    text = folder / "notes.wav"
    text.write_text("Field notes, not audio.\n" * 20)
    samples = [
        Sample("good.wav", good, None),
        Sample("copy-of-good.wav", duplicate, "already in the catalogue as NSE-", "duplicate"),
        Sample("good.flac", write_audio(folder / "good.flac", format="FLAC", seed=2), None),
        Sample("empty.wav", empty, "empty", "audio"),
        Sample(
            "truncated.wav",
            wav_with_claimed_length(folder / "truncated.wav", claimed_seconds=5),
            "truncated",
            "audio",
        ),
        Sample("notes.wav", text, "contains text, not audio", "audio"),
        Sample(
            "ten-hours.wav",
            wav_with_claimed_length(folder / "ten-hours.wav", claimed_seconds=36_000),
            "its header announces 10 h 00 min",
            "audio",
        ),
        Sample(
            "blip.wav", write_audio(folder / "blip.wav", seconds=0.01, seed=3), "0.01 s", "audio"
        ),
        Sample(
            "slow.wav",
            write_audio(folder / "slow.wav", sample_rate=4000, frequency_hz=500, seed=4),
            "sample rate is 4000 Hz",
            "audio",
        ),
        Sample(
            "../../etc/pass\x07wd\x1b.wav",
            write_audio(folder / "odd-name.wav", seed=5),
            None,
        ),
        Sample(
            "spaceship.wav",
            write_audio(folder / "spaceship.wav", seed=6),
            "Unknown category “Spaceships”",
            "metadata",
            {"category": "Spaceships"},
        ),
    ]
    if with_huge:
        huge = folder / "huge.wav"
        with huge.open("wb") as f:
            f.truncate(TWO_GB)  # sparse: two gigabytes on paper, nothing on disk
        samples.append(Sample("huge.wav", huge, "upload limit", "too_large"))
    return samples
