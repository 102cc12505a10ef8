"""Builders for tests: small, explicit, real rows in the real database."""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User

from noisebank.accounts.roles import Role, role_group
from noisebank.catalog import models as m

_counter = itertools.count(1)

PASSWORD = "correct horse battery staple"


def make_user(username: str, role: Role | None, **fields: Any) -> User:
    user = User.objects.create_user(username, f"{username}@example.org", PASSWORD, **fields)
    if role is not None and role is not Role.NONE:
        user.groups.add(role_group(role))
    return user


def taxon(model: type[m.Taxon], name: str, **fields: Any) -> Any:
    obj, _ = model.objects.get_or_create(name=name, **fields)  # type: ignore[attr-defined]
    return obj


def make_recording(
    *,
    collector: User | None = None,
    category: str = "Train pass-by",
    sound_class: str = "Freight train",
    subclass: str | None = "Container",
    region: str = "Greater Accra",
    community: str | None = "Tema",
    recorded_at: datetime | None = None,
    features: dict[str, Any] | None = None,
    analysis: dict[str, Any] | None = None,
    with_measurements: bool = True,
    **fields: Any,
) -> m.Recording:
    """A recording with its taxonomy, features and levels; pass names to pick the taxonomy."""
    n = next(_counter)
    cat = taxon(m.Category, category)
    cls = taxon(m.SoundClass, sound_class, category=cat)
    sub = taxon(m.Subclass, subclass, sound_class=cls) if subclass else None
    reg = taxon(m.Region, region)
    com = taxon(m.Community, community, region=reg) if community else None
    at = recorded_at or datetime(2026, 3, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=n)
    fields.setdefault("noise_id", m.new_noise_id(collector.username if collector else "test", at))
    fields.setdefault("name", f"Recording {n}")
    fields.setdefault("status", m.Recording.Status.READY)
    rec = m.Recording.objects.create(
        collector=collector,
        category=cat,
        sound_class=cls,
        subclass=sub,
        region=reg,
        community=com,
        recorded_at=at,
        **fields,
    )
    if with_measurements:
        m.AudioFeatures.objects.create(
            recording=rec,
            **{
                "duration_s": 12.5,
                "sample_rate": 48000,
                "num_samples": 600000,
                "channels": 1,
                "rms_energy": 0.05,
                "zero_crossing_rate": 0.04,
                "spectral_centroid": 900.0,
                "spectral_bandwidth": 1200.0,
                "spectral_rolloff": 3000.0,
                "spectral_flatness": 0.12,
                "harmonic_ratio": 0.6,
                "percussive_ratio": 0.4,
                "mfcc": [float(i) for i in range(13)],
                "chroma": [i / 12 for i in range(12)],
                **(features or {}),
            },
        )
        m.NoiseAnalysis.objects.create(
            recording=rec,
            **{
                "unit": m.NoiseAnalysis.Unit.DB_SPL,
                "lzeq": 88.0,
                "laeq": 80.0,
                "lafmax": 91.0,
                "lafmin": 62.0,
                "la10": 84.0,
                "la50": 78.0,
                "la90": 66.0,
                "mean_db": 77.5,
                "max_db": 91.0,
                "min_db": 62.0,
                "std_db": 6.1,
                "dominant_frequency_hz": 250.0,
                "freq_low_hz": 50.0,
                "freq_high_hz": 4000.0,
                "peak_count": 7,
                "peak_interval_mean_s": 1.5,
                "event_count": 1,
                "event_durations_s": [4.2],
                "band_levels": {"1000": 72.0},
                **(analysis or {}),
            },
        )
    return rec


def write_audio(
    path: Any,
    *,
    seconds: float = 1.0,
    sample_rate: int = 48_000,
    frequency_hz: float = 1000.0,
    level_dbfs: float = -20.0,
    format: str = "WAV",
    subtype: str = "PCM_16",
    seed: int = 0,
) -> Any:
    """A sine (plus a little seeded noise, so files of different seeds differ) written to path."""
    import numpy as np
    import soundfile as sf

    from noisebank.lib import synth

    x = synth.sine(
        frequency_hz, seconds, rms=synth.rms_for_dbfs(level_dbfs), sample_rate=sample_rate
    )
    x = x + 1e-4 * np.random.default_rng(seed).standard_normal(x.size)
    sf.write(str(path), x, sample_rate, format=format, subtype=subtype)
    return path


def wav_with_claimed_length(path: Any, *, claimed_seconds: float, real_seconds: float = 1.0) -> Any:
    """A 16-bit mono WAV whose header announces a different length from the bytes present."""
    import struct

    rate = 48_000
    data = b"\x00\x01" * round(real_seconds * rate)
    claimed = round(claimed_seconds * rate) * 2
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", claimed)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", min(0xFFFFFFFF, 36 + claimed)) + body + data)
    return path
