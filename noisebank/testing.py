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
    # Catalogue content: accepted unless a test says otherwise (uploads start submitted).
    fields.setdefault("review_state", m.Recording.Review.ACCEPTED)
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
        m.Recording.objects.filter(pk=rec.pk).copy_measurements()
        rec.refresh_from_db()
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


# Text that has broken exports before: separators, quotes, line breaks, non-ASCII, spreadsheet
# formulas, leading/trailing spaces, a lone backslash-dot (PostgreSQL's COPY end marker).
AWKWARD_TEXTS = [
    'Horn, two-tone, "loud"',
    "Line one\nline two\r\nline three\rend",
    "Zürich HB — Gare du Nord, ÎLE 東京 🚆",
    '=HYPERLINK("http://x")',
    "+41 79 000 00 00",
    "-3 dB drop",
    "@platform 4",
    "\tTabbed",
    "  padded  ",
    "\\.",
    '""',
    ",",
]
# Floats where PostgreSQL's and Python's text differ, or that round-trip badly.
AWKWARD_FLOATS = [
    -0.0, 80.0, -12.5, 1e15, 1234567890123456.8, -1e15 - 0.5, 1e16, 1e-5, 0.0001,
    0.1 + 0.2, 123456789012345.6, 5e-324, 1.7976931348623157e308, -99.99,
]  # fmt: skip


def make_awkward_recordings(collector: User | None = None) -> list[m.Recording]:
    """Recordings whose values are hard to export: NULLs, empty text, awkward text and numbers,
    fractional-second times, missing measurements, uncalibrated ones using their device's typed
    offset or its calibration.
    """
    device = taxon(m.Device, "Zoom H5 “field” unit", calibration_offset_db=122.5)
    mic = taxon(m.MicrophoneType, "MEMS, smartphone")
    tod = taxon(m.TimeOfDay, "Evening")
    dtype = taxon(m.DatasetType, "Mixed")
    recs = []
    for i, text in enumerate(AWKWARD_TEXTS):
        value = AWKWARD_FLOATS[i % len(AWKWARD_FLOATS)]
        recs.append(
            make_recording(
                collector=collector,
                name=text,
                description=AWKWARD_TEXTS[-1 - i],
                category='Wheel-rail noise, "squeal"' if i % 2 else "Ambience",
                sound_class="Crossing bell",
                subclass=None if i % 3 == 0 else "Électronique",
                region="Île-de-France",
                community=None if i % 4 == 0 else "Saint-Denis",
                recorded_at=datetime(2025, 1, 1, 0, 0, 0, 123456 * (i % 2), tzinfo=UTC)
                + timedelta(days=i),
                latitude=None if i % 5 == 0 else -33.5 - i,
                longitude=None if i % 5 == 0 else value,
                device=device if i % 2 else None,
                microphone_type=mic if i % 3 else None,
                time_of_day=tod if i % 2 else None,
                dataset_type=dtype if i % 3 != 1 else None,
                calibration_offset_db=None if i % 2 else -3.25,
                original_filename=text if i % 2 else "",
                size_bytes=None if i % 3 == 0 else 2**40 + i,
                sha256=None if i % 2 else f"{i:064x}",
                audio=f"audio/2025/01/{i}, ü.wav" if i % 3 == 1 else "",
                status=m.Recording.Status.READY if i % 4 else m.Recording.Status.FAILED,
                error="" if i % 4 else text,
                features={
                    "duration_s": 0.5 + i,
                    "rms_energy": None if i % 4 == 1 else value,
                    "spectral_flatness": 1e-7 * i,
                    "mfcc": [value, -1.5, *range(2, 13)][: 13 - i % 3],
                    "chroma": [] if i % 5 == 2 else [0.25] * 12,
                },
                analysis={
                    "unit": m.NoiseAnalysis.Unit.DBFS if i % 2 else m.NoiseAnalysis.Unit.DB_SPL,
                    "laeq": -23.5 - i if i % 2 else 55.0 + i,
                    "min_db": value,
                    "std_db": None,
                    "peak_interval_mean_s": None if i % 3 else 0.1 * i,
                    "freq_low_hz": None if i % 6 == 5 else 31.5,
                    "event_durations_s": [0.5 * j for j in range(i % 3)],
                    "band_levels": {"31.5": -4.5, "1000": value, "20000": "n/a"}
                    if i % 2
                    else {"25": 12.0},
                },
                with_measurements=i % 7 != 3,
            )
        )
    # A calibration of the device from the seventh day on: half its recordings are in it.
    m.Calibration.objects.create(
        device=device, nominal_db=94.0, measured_dbfs=-31.473125, offset_db=125.473125,
        frequency_hz=1000.2, steadiness_db=0.03, steady_s=4.5, file="calibrations/awkward.wav",
        valid_from=datetime(2025, 1, 6, 12, 0, 0, 500000, tzinfo=UTC),
    )  # fmt: skip
    return recs


def make_many_recordings(
    n: int, *, collector: User | None = None, description: str = ""
) -> list[m.Recording]:
    """n recordings with levels, in a few bulk inserts: for tests that need more than a page."""
    cat = taxon(m.Category, "Train pass-by")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    first = next(_counter)
    for _ in range(n):  # keep later builders' numbers unique
        next(_counter)
    recs = m.Recording.objects.bulk_create(
        m.Recording(
            noise_id=f"NSE-BULK-{first + i:08d}",
            name=f"Bulk recording {first + i}",
            description=description,
            category=cat,
            collector=collector,
            recorded_at=start + timedelta(seconds=first + i),
            status=m.Recording.Status.READY,
            review_state=m.Recording.Review.ACCEPTED,
        )
        for i in range(n)
    )
    if any(r.pk is None for r in recs):  # backends that do not return ids from bulk inserts
        recs = list(m.Recording.objects.filter(noise_id__startswith="NSE-BULK-").order_by("id"))
    m.NoiseAnalysis.objects.bulk_create(
        m.NoiseAnalysis(recording=r, laeq=40.0 + (i % 600) / 10) for i, r in enumerate(recs)
    )
    m.Recording.objects.filter(pk__in=[r.pk for r in recs]).copy_measurements()
    return recs


def database_url() -> str:
    """DATABASE_URL of the database the tests use, for processes they start (a real server,
    the CLI) so those see the same (committed) data."""
    from urllib.parse import quote

    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "") + (f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"
