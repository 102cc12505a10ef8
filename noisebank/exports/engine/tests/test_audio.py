from pathlib import Path

import numpy as np
import pytest
import soundfile
from scipy.signal import resample_poly

from noisebank.exports.engine.audio import (
    AudioSpec,
    Segment,
    output_blocks,
    plan_audio,
    plan_segments,
    rate_ratio,
    render,
)


def noise(path: Path, rate: int, frames: int, channels: int, subtype: str) -> np.ndarray:
    data = np.random.default_rng(frames).uniform(-0.5, 0.5, (frames, channels))
    soundfile.write(path, data, rate, subtype=subtype)
    return soundfile.read(path, always_2d=True)[0]


@pytest.mark.parametrize(
    ("source_rate", "rate"), [(44_100, 16_000), (48_000, 16_000), (8_000, 22_050)]
)
def test_resampling_block_by_block_gives_the_samples_of_resampling_the_whole_file(
    tmp_path: Path, source_rate: int, rate: int
) -> None:
    data = noise(tmp_path / "a.wav", source_rate, 50_001, 2, "FLOAT")
    plan = plan_audio(tmp_path / "a.wav", AudioSpec(sample_rate=rate))
    up, down = rate_ratio(source_rate, rate)
    whole = resample_poly(data, up, down, axis=0)
    for block in (1_000, 4_096, 1 << 16):
        with soundfile.SoundFile(tmp_path / "a.wav") as f:
            blocks = list(output_blocks(f, plan, block_frames=block))
        joined = np.concatenate(blocks)
        assert joined.shape == whole.shape == (plan.frames, 2)
        assert np.abs(joined - whole).max() < 1e-12


def test_segments_are_cut_from_the_start_and_the_rest_padded_kept_or_dropped() -> None:
    assert plan_segments(25, 10, "pad") == (
        Segment(0, 0, 10, 10),
        Segment(1, 10, 10, 10),
        Segment(2, 20, 5, 10),
    )
    assert plan_segments(25, 10, "keep")[-1] == Segment(2, 20, 5, 5)
    assert len(plan_segments(25, 10, "drop")) == 2
    assert plan_segments(9, 10, "drop") == ()
    assert plan_segments(30, 10, "pad")[-1] == Segment(2, 20, 10, 10)
    assert plan_segments(7, None, "pad") == (Segment(0, 0, 7, 7),)


def test_wav_segments_of_a_pcm_file_hold_its_samples_exactly(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "a.wav", np.arange(-2500, 2500, dtype=np.int16) * 7, 1_000)
    source = soundfile.read(tmp_path / "a.wav", dtype="int16")[0]
    spec = AudioSpec(segment_seconds=2, audio_format="wav")
    plan = plan_audio(tmp_path / "a.wav", spec)
    assert plan.subtype == "PCM_16" and plan.integer_copy
    got = []
    for segment, data, size in render(plan, block_frames=700):
        samples, rate = soundfile.read(data, dtype="int16")
        assert rate == 1_000 and size == 44 + 2 * 2_000
        start = segment.start
        expected = source[start : start + segment.frames]
        assert np.array_equal(samples[: segment.frames], expected)
        assert not samples[segment.frames :].any()  # padding is silence
        got.append(segment.index)
    assert got == [0, 1, 2]


def test_mono_is_the_mean_of_the_channels_resampled_into_24_bit_flac(tmp_path: Path) -> None:
    left = np.sin(np.arange(48_000) * 2 * np.pi * 440 / 48_000) * 0.5
    soundfile.write(tmp_path / "a.wav", np.stack([left, np.zeros_like(left)], 1), 48_000, "FLOAT")
    plan = plan_audio(tmp_path / "a.wav", AudioSpec(sample_rate=16_000, mono=True))
    assert (plan.format, plan.subtype, plan.channels, plan.rate) == ("FLAC", "PCM_24", 1, 16_000)
    [(segment, (samples, rate))] = [(s, soundfile.read(data)) for s, data, _ in render(plan)]
    assert rate == 16_000 and samples.shape == (16_000,) == (segment.frames,)
    expected = resample_poly(left / 2, 1, 3)
    assert np.abs(samples - expected).max() < 1e-6  # 24-bit quantisation


def test_an_unreadable_file_is_an_error_when_planned(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF but not audio")
    with pytest.raises(soundfile.LibsndfileError):
        plan_audio(tmp_path / "a.wav", AudioSpec(mono=True))


def test_an_audio_spec_refuses_nonsense() -> None:
    for bad in (
        {"sample_rate": 0},
        {"segment_seconds": 0},
        {"segment_seconds": float("inf")},
        {"segment_remainder": "cut"},
        {"audio_format": "mp3"},
    ):
        with pytest.raises(ValueError):
            AudioSpec(**bad)
    assert not AudioSpec().transforms and AudioSpec().output_format is None
    assert AudioSpec(mono=True).output_format == "FLAC"
    assert AudioSpec(audio_format="wav").output_format == "WAV"
