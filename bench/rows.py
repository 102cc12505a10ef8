"""Realistic export rows for the writer benchmarks: the 38 original columns plus levels/location.

Rows are made on the fly from small pools so generating them costs about what a database driver
costs to hand them over, and memory stays flat whatever the count.
"""

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from noisebank.exports.engine.columns import Column, ColumnType

_SPEC: list[tuple[str, ColumnType, str]] = [
    ("noise_id", "text", ""),
    ("name", "text", ""),
    ("dataset_type", "text", ""),
    ("collector", "text", ""),
    ("description", "text", ""),
    ("recording_device", "text", ""),
    ("recording_date", "datetime", ""),
    ("created_at", "datetime", ""),
    ("updated_at", "datetime", ""),
    ("region", "text", ""),
    ("community", "text", ""),
    ("category", "text", ""),
    ("class", "text", ""),
    ("subclass", "text", ""),
    ("time_of_day", "text", ""),
    ("microphone_type", "text", ""),
    ("audio_file", "text", ""),
    ("audio_size", "integer", "B"),
    ("audio_duration", "float", "s"),
    ("sample_rate", "integer", "Hz"),
    ("num_samples", "integer", ""),
    ("rms_energy", "float", ""),
    ("zero_crossing_rate", "float", ""),
    ("spectral_centroid", "float", "Hz"),
    ("spectral_bandwidth", "float", "Hz"),
    ("spectral_rolloff", "float", "Hz"),
    ("spectral_flatness", "float", ""),
    ("harmonic_ratio", "float", ""),
    ("percussive_ratio", "float", ""),
    ("mean_db", "float", "dB"),
    ("max_db", "float", "dB"),
    ("min_db", "float", "dB"),
    ("std_db", "float", "dB"),
    ("peak_count", "integer", ""),
    ("peak_interval_mean", "float", "s"),
    ("dominant_frequency", "float", "Hz"),
    ("frequency_range", "text", "Hz"),
    ("event_count", "integer", ""),
    ("laeq", "float", "dB"),
    ("lafmax", "float", "dB"),
    ("la90", "float", "dB"),
    ("latitude", "float", "°"),
    ("longitude", "float", "°"),
    ("calibrated", "boolean", ""),
]

COLUMNS = [Column(name, name, type_, unit) for name, type_, unit in _SPEC]

_WORDS = [
    "train",
    "horn",
    "brake",
    "squeal",
    "crossing",
    "bell",
    "station",
    "ambience",
    "freight",
    "diesel",
    "électrique",
]
_TEXTS = [
    "Passing freight train, 24 wagons",
    "Zoë Müller recorded this near the Île-de-France line",
    "Brake squeal, then a horn;\nwind noise on the microphone",
    'Two "quiet" periods between trains, 中文 notes',
    "",
    '=HYPERLINK("http://example.com")',
]
_PLACES = ["Accra", "Kumasi", "Île-de-France", "Tamale", "Cape Coast", "Ho"]


def rows(count: int, seed: int = 1) -> Iterator[tuple[object, ...]]:
    rnd = random.Random(seed)
    floats = [rnd.uniform(-120.0, 20000.0) for _ in range(4099)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(count):
        f = i % 4000
        when = start + timedelta(seconds=i * 37)
        yield (
            f"NSE-C{i % 97:03d}-{when:%Y%m%d%H%M%S}-{i:08x}",
            f"{_WORDS[i % 11]} {_WORDS[(i * 7) % 11]} {i}",
            "noise",
            f"collector{i % 97}",
            _TEXTS[i % 6] if i % 13 else None,
            "Zoom H5",
            when,
            when + timedelta(days=1, microseconds=(i % 5) * 250_000),
            when + timedelta(days=2),
            _PLACES[i % 6],
            _PLACES[(i + 2) % 6] + " North",
            "Railway",
            _WORDS[i % 11],
            _WORDS[(i + 3) % 11] if i % 4 else None,
            ("morning", "afternoon", "evening", "night")[i % 4],
            "omnidirectional",
            f"recordings/2024/{i:08x}.wav",
            1_000_000 + i * 17,
            floats[f] / 400.0,
            48_000,
            2_400_000 + i,
            floats[f + 1] / 30000.0,
            floats[f + 2] / 50000.0,
            floats[f + 3],
            floats[f + 4],
            floats[f + 5],
            floats[f + 6] / 20000.0,
            floats[f + 7] / 20000.0,
            floats[f + 8] / 20000.0,
            floats[f + 9] / 200.0,
            floats[f + 10] / 200.0,
            floats[f + 11] / 200.0,
            floats[f + 12] / 2000.0,
            i % 50,
            floats[f + 13] / 10000.0,
            floats[f + 14],
            "100-8000",
            i % 7,
            floats[f + 15] / 200.0,
            floats[f + 16] / 200.0,
            floats[f + 17] / 200.0 if i % 9 else None,
            5.6 + (i % 1000) / 1000.0 if i % 3 else None,
            -0.2 + (i % 1000) / 1000.0 if i % 3 else None,
            bool(i % 2),
        )
