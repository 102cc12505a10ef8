"""Demo data: a rail-noise taxonomy, demo users and realistic synthetic recordings.

Rows are generated in vectorised chunks and written with COPY on PostgreSQL and executemany on
SQLite, so a million recordings take minutes, not hours. Values follow plausible distributions
per sound class (LAeq 45-105 dB SPL, durations 2-120 s, spectra shaped by the source), and the text
deliberately carries commas, quotes, newlines, non-ASCII and formula-like strings so that every
export path meets them.
"""

import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.color import no_style
from django.db import connection, connections, transaction
from django.db.models import Max

from noisebank.accounts.roles import Role, role_group
from noisebank.catalog import models as m
from noisebank.lib.bands import BAND_CENTRES

# (category, class, subclasses, LAeq mean, LAeq sd, duration median s, dominant Hz range)
TAXONOMY: list[tuple[str, str, list[str], float, float, float, tuple[float, float]]] = [
    ("Train pass-by", "Passenger train", ["Intercity", "Regional", "High-speed"], 82, 6, 35, (63, 500)),
    ("Train pass-by", "Freight train", ["Container", "Tank wagons", "Empty wagons"], 86, 6, 70, (40, 315)),
    ("Train pass-by", "Metro / light rail", ["Tram", "Metro"], 76, 5, 20, (80, 630)),
    ("Warning signals", "Horn", ["Single tone", "Two-tone"], 97, 4, 5, (300, 800)),
    ("Warning signals", "Crossing bell", ["Electronic bell", "Mechanical bell"], 80, 4, 25, (600, 2500)),
    ("Warning signals", "Whistle", ["Guard's whistle", "Locomotive whistle"], 92, 4, 4, (1000, 3500)),
    ("Wheel-rail noise", "Brake squeal", ["Disc brake", "Tread brake"], 90, 5, 12, (2000, 8000)),
    ("Wheel-rail noise", "Curve squeal", ["Tight curve", "Wide curve"], 88, 5, 15, (1500, 6300)),
    ("Wheel-rail noise", "Rail joint impact", ["Fishplate joint", "Switch/crossing"], 84, 5, 10, (100, 1000)),
    ("Station & yard", "Station ambience", ["Platform", "Concourse"], 66, 5, 90, (125, 1000)),
    ("Station & yard", "Announcements", ["PA announcement", "Departure chime"], 72, 4, 15, (300, 2000)),
    ("Station & yard", "Shunting", ["Coupling", "Idling locomotive"], 78, 5, 45, (31.5, 250)),
    ("Background", "Urban ambient", ["Road traffic", "Market crowd"], 62, 6, 100, (63, 800)),
    ("Background", "Rural ambient", ["Wind", "Birdsong"], 48, 5, 110, (200, 4000)),
]  # fmt: skip

CATEGORY_DESCRIPTIONS = {
    "Train pass-by": "A train passing the microphone, from first audibility to fade-out.",
    "Warning signals": "Horns, bells and whistles that warn people near the line.",
    "Wheel-rail noise": "Noise made where wheel meets rail: squeal, impacts, roughness.",
    "Station & yard": "Sound in and around stations, depots and yards.",
    "Background": "Ambient sound with no railway source, for reference and contrast.",
}

# region -> [(community, latitude, longitude)]
REGIONS: dict[str, list[tuple[str, float, float]]] = {
    "Greater Accra": [("Accra Central", 5.549, -0.203), ("Tema", 5.669, -0.017), ("Nungua", 5.60, -0.07)],
    "Ashanti": [("Kumasi", 6.688, -1.624), ("Obuasi", 6.206, -1.667), ("Ejisu", 6.72, -1.47)],
    "Western": [("Takoradi", 4.898, -1.760), ("Tarkwa", 5.300, -1.995)],
    "Central": [("Cape Coast", 5.106, -1.246), ("Winneba", 5.351, -0.623)],
    "Eastern": [("Nsawam", 5.808, -0.350), ("Koforidua", 6.094, -0.259)],
    "Zürich": [("Zürich HB", 47.378, 8.540), ("Oerlikon", 47.411, 8.544)],
    "Île-de-France": [("Gare du Nord", 48.880, 2.355), ("Saint-Denis", 48.936, 2.357)],
}  # fmt: skip

MICROPHONES = [
    ("Class 1 measurement microphone", "IEC 61672 class 1 free-field capsule."),
    ("Omnidirectional condenser", "Small-diaphragm omni on a tripod."),
    ("Cardioid condenser", "Directional; pointed at the track."),
    ("MEMS (smartphone)", "Built-in phone microphone."),
]
# (device, microphone index, calibration offset dB: dB SPL = dBFS + offset)
DEVICES = [
    ("NTi XL2", 0, 128.0),
    ("Rion NL-52", 0, 127.3),
    ("Zoom H5", 1, 122.5),
    ("Tascam DR-40X", 2, 121.0),
    ("Android phone", 3, 117.0),
]
TIMES_OF_DAY = [
    ("Night", "22:00-06:00"),
    ("Morning", "06:00-12:00"),
    ("Afternoon", "12:00-18:00"),
    ("Evening", "18:00-22:00"),
]
DATASET_TYPES = [
    ("Noise", "Environmental noise for measurement and modelling."),
    ("Clean speech", "Speech without railway noise, for mixing experiments."),
    ("Mixed", "Speech or announcements over railway noise."),
]

DEMO_USERS = [
    ("admin", Role.ADMIN), ("reviewer", Role.REVIEWER), ("researcher", Role.RESEARCHER),
    ("collector", Role.COLLECTOR),
]  # fmt: skip
# Field collectors who own most demo recordings; their accounts cannot log in.
COLLECTORS = [
    ("kwame.mensah", "Kwame", "Mensah"),
    ("ama.owusu", "Ama", "Owusu"),
    ("zoë.müller", "Zoë", "Müller"),
    ("aurélie.dubois", "Aurélie", "Dubois"),
    ("kofi.boateng", "Kofi", "Boateng"),
]

NAME_TEMPLATES = [
    "{sub} at {community}",
    "{sub}, {community} — km {km:.1f}",
    '{cls} "{sub}" near {community}',
    "{community}: {sub} ({tod})",
    "{sub} @ {community}",
    '=HYPERLINK("{community}") {sub}',
    "-{drop} dB drop, {sub}",
    "+{km:.0f} m from track, {sub}",
    "@{community} platform {platform}: {sub}",
]
DESCRIPTION_TEMPLATES = [
    "Recorded {dist} m from the nearest rail, microphone at 1.2 m.\nWind {wind} m/s; dry.",
    'Observer note: "{sub}" clearly audible; {weather}.',
    "{weather}, {dist} m from track — façade reflections likely.",
    "Two passes overlapped; see notes, line 2.\nCalibrated before and after (±0.2 dB).",
    "",
    "Crossing gate closed at start; bells ≈ {dist} m away.",
    "@platform {platform}: announcement over arrival, café noise behind.",
]
WEATHER = ["overcast", "light rain", "clear, 28 °C", "harmattan haze", "windy, gusts"]

_BAND_HZ = np.array([float(c) for c in BAND_CENTRES])
# IEC 61672-1 A-weighting at the band centres (dB), to shape bands so they sum to the LAeq.
_A_WEIGHT = np.array([
    -44.7, -39.4, -34.6, -30.2, -26.2, -22.5, -19.1, -16.1, -13.4, -10.9, -8.6, -6.6, -4.8,
    -3.2, -1.9, -0.8, 0.0, 0.6, 1.0, 1.2, 1.3, 1.2, 1.0, 0.5, -0.1, -1.1, -2.5, -4.3, -6.6, -9.3,
])  # fmt: skip


# JSON of one recording's band levels, filled by %-formatting: far cheaper than json.dumps.
_BAND_JSON = "{" + ", ".join(f'"{c}": %r' for c in BAND_CENTRES) + "}"


@dataclass
class Taxonomy:
    classes: list[tuple[int, int, list[int], float, float, float, tuple[float, float]]]
    regions: list[tuple[int, list[tuple[int, str, float, float]]]]
    microphones: list[int]
    devices: list[tuple[int, int]]
    times_of_day: dict[str, int]
    dataset_types: list[int]


def ensure_taxonomy() -> Taxonomy:
    """Create the demo taxonomy where missing; return its ids."""
    classes = []
    for cat_name, cls_name, subs, mean, sd, dur, hz in TAXONOMY:
        cat, _ = m.Category.objects.get_or_create(
            name=cat_name, defaults={"description": CATEGORY_DESCRIPTIONS[cat_name]}
        )
        cls, _ = m.SoundClass.objects.get_or_create(category=cat, name=cls_name)
        sub_ids = [m.Subclass.objects.get_or_create(sound_class=cls, name=s)[0].pk for s in subs]
        classes.append((cat.pk, cls.pk, sub_ids, mean, sd, dur, hz))
    regions = []
    for region_name, communities in REGIONS.items():
        region, _ = m.Region.objects.get_or_create(name=region_name)
        coms = [
            (m.Community.objects.get_or_create(region=region, name=c)[0].pk, c, lat, lon)
            for c, lat, lon in communities
        ]
        regions.append((region.pk, coms))
    mics = [
        m.MicrophoneType.objects.get_or_create(name=n, defaults={"description": d})[0].pk
        for n, d in MICROPHONES
    ]
    devices = []
    for name, mic, offset in DEVICES:
        device, _ = m.Device.objects.get_or_create(
            name=name, defaults={"microphone_type_id": mics[mic], "calibration_offset_db": offset}
        )
        devices.append((device.pk, mics[mic]))
    tods = {
        n: m.TimeOfDay.objects.get_or_create(name=n, defaults={"description": d})[0].pk
        for n, d in TIMES_OF_DAY
    }
    dtypes = [
        m.DatasetType.objects.get_or_create(name=n, defaults={"description": d})[0].pk
        for n, d in DATASET_TYPES
    ]
    return Taxonomy(classes, regions, mics, devices, tods, dtypes)


def ensure_demo_users(password: str) -> list[User]:
    """The three log-in accounts of the demo, and the field collectors who own the data."""
    users = []
    for username, role in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username,
                f"{username}@noisebank.example",
                password,
                is_staff=role is Role.ADMIN,
                is_superuser=role is Role.ADMIN,
            )
            user.groups.add(role_group(role))
        users.append(user)
    collector_group = role_group(Role.COLLECTOR)
    for username, first, last in COLLECTORS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{first}@field.example"},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(collector_group)
        users.append(user)
    return users


RECORDING_COLUMNS = [
    "id", "noise_id", "name", "description", "dataset_type_id", "collector_id", "category_id",
    "sound_class_id", "subclass_id", "region_id", "community_id", "latitude", "longitude",
    "recorded_at", "time_of_day_id", "device_id", "microphone_type_id", "calibration_offset_db",
    "audio", "original_filename", "size_bytes", "sha256", "status", "error", "created_at",
    "updated_at", "review_state", "review_note",
    # Recording.copy_measurements() as a ready row's levels and features below make it.
    "laeq", "lafmax", "level_unit", "clipped_share", "duration_s",
]  # fmt: skip
FEATURE_COLUMNS = [
    "recording_id", "duration_s", "sample_rate", "num_samples", "channels", "rms_energy",
    "zero_crossing_rate", "spectral_centroid", "spectral_bandwidth", "spectral_rolloff",
    "spectral_flatness", "harmonic_ratio", "percussive_ratio", "mfcc", "chroma",
]  # fmt: skip
ANALYSIS_COLUMNS = [
    "recording_id", "unit", "lzeq", "laeq", "lafmax", "lafmin", "la10", "la50", "la90",
    "mean_db", "max_db", "min_db", "std_db", "dominant_frequency_hz", "freq_low_hz",
    "freq_high_hz", "peak_count", "peak_interval_mean_s", "event_count", "event_durations_s",
    "band_levels", "level_series",
]  # fmt: skip

FAILED_REASONS = [
    "Could not decode the audio: the FLAC stream ends in the middle of a frame.",
    "The file is 0.2 s long; recordings must last at least 0.5 s.",
]


def _round(a: np.ndarray, nd: int) -> list[Any]:
    """Rounded, as Python numbers (a list of lists for a 2-D array)."""
    return list(np.round(a, nd).tolist())


def generate_chunk(
    rng: np.random.Generator,
    tax: Taxonomy,
    collectors: Sequence[User],
    first_id: int,
    n: int,
    now: datetime,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """n recordings with ids first_id.. and their features and levels, as row tuples.

    Numbers are drawn and shaped column by column with numpy; only text is built per row.
    """
    ids = np.arange(first_id, first_id + n)
    k = rng.integers(0, len(tax.classes), n)
    cls_mean = np.array([c[3] for c in tax.classes])[k]
    cls_sd = np.array([c[4] for c in tax.classes])[k]
    cls_dur = np.array([c[5] for c in tax.classes])[k]
    lo_hz = np.array([c[6][0] for c in tax.classes])[k]
    hi_hz = np.array([c[6][1] for c in tax.classes])[k]

    # Recorded over the last three years, more in daytime; uploaded a few days later.
    start = (now - timedelta(days=3 * 365)).replace(hour=0, minute=0, second=0)
    day = rng.integers(0, 3 * 365, n)
    hour = np.clip(rng.normal(13, 4.5, n), 0, 23.99)
    offset_s = np.minimum(day * 86400 + np.floor(hour * 3600), (now - start).total_seconds() - 3600)
    created_s = np.minimum(offset_s + rng.exponential(3 * 86400, n), (now - start).total_seconds())
    hours = (offset_s % 86400) // 3600
    tod_i = np.select([(hours < 6) | (hours >= 22), hours < 12, hours < 18], [0, 1, 2], 3)

    region_i = rng.integers(0, len(tax.regions), n)
    com_pick = rng.random(n)
    device_i = rng.integers(0, len(tax.devices), n)
    collector_i = rng.integers(0, len(collectors), n)
    dtype_i = rng.choice(len(tax.dataset_types), n, p=[0.85, 0.05, 0.10])
    roll = rng.random(n)
    status = np.where(roll < 0.985, "ready", np.where(roll < 0.995, "pending", "failed"))
    located = rng.random(n) < 0.9
    lat_j, lon_j = rng.normal(0, 0.01, (2, n))
    texts = rng.integers(0, 1 << 30, (n, 4))

    laeq = np.clip(cls_mean + cls_sd * rng.standard_normal(n), 45, 105)
    duration = np.clip(cls_dur * np.exp(0.6 * rng.standard_normal(n)), 2, 120)
    sr = np.where(device_i < 2, 48000, 44100)
    spread = rng.uniform(4, 16, n)  # LA10 - LA90 in dB: how much the level varies
    la10, la50, la90 = laeq + 0.25 * spread, laeq - 0.3 * spread, laeq - 0.75 * spread
    lafmax = la10 + 2 + 0.4 * spread
    lafmin = la90 - 1.5 - 0.1 * spread
    dominant = lo_hz * (hi_hz / lo_hz) ** rng.random(n)
    # Bands: a bump around the dominant frequency, scaled so their A-weighted sum is the LAeq.
    shape = -3 * np.log2(_BAND_HZ / dominant[:, None]) ** 2 + rng.normal(0, 2.0, (n, len(_BAND_HZ)))
    # Demo sample rates are 44.1 or 48 kHz, so every band up to 20 kHz is below Nyquist.
    a_sum = 10 * np.log10(np.sum(10 ** ((shape + _A_WEIGHT) / 10), axis=1))
    bands = shape + (laeq - a_sum)[:, None]
    lzeq = 10 * np.log10(np.sum(10 ** (bands / 10), axis=1))
    peaks = np.maximum(0, (duration * (0.05 + (texts[:, 2] % 50) / 100)).astype(int))
    events = (spread > 9).astype(int) + (spread > 13) + np.isin(k, (3, 5))
    centroid = np.clip(dominant * 1.8, 80, sr / 4)
    harmonic = 0.3 + 0.6 * rng.random(n)
    mfcc = rng.normal(0, 1, (n, 13)) * [60, *[12] * 12] + [-250, *[0] * 12]
    chroma = rng.dirichlet(np.ones(12), n)

    cols = {
        "laeq": _round(laeq, 1), "lzeq": _round(lzeq, 1), "la10": _round(la10, 1),
        "la50": _round(la50, 1), "la90": _round(la90, 1), "lafmax": _round(lafmax, 1),
        "lafmin": _round(lafmin, 1), "mean": _round(la50 + 0.6, 1), "std": _round(spread / 2.6, 2),
        "dominant": _round(dominant, 1), "flow": _round(np.maximum(20, lo_hz / 2.5), 1),
        "fhigh": _round(np.minimum(sr / 2, hi_hz * 4), 1), "duration": _round(duration, 3),
        "rms": _round(10 ** ((laeq - 120) / 20), 6), "zcr": _round(np.minimum(0.5, centroid / sr * 1.5), 5),
        "centroid": _round(centroid, 1), "bandwidth": _round(centroid * 1.3, 1),
        "rolloff": _round(np.minimum(sr / 2, centroid * 3.2), 1),
        "flatness": _round(0.02 + 0.4 * rng.random(n), 4), "harmonic": _round(harmonic, 3),
        "percussive": _round(1 - harmonic, 3), "bands": _round(bands, 1), "mfcc": _round(mfcc, 3),
        "chroma": _round(chroma, 4), "lat": _round(lat_j, 5), "lon": _round(lon_j, 5),
    }  # fmt: skip
    peaks_l, events_l, sr_l = peaks.tolist(), events.tolist(), sr.tolist()
    samples = np.round(duration * sr).astype(np.int64).tolist()
    tod_names = [name for name, _ in TIMES_OF_DAY]

    recs, feats, levels = [], [], []
    for i in range(n):
        rid = int(ids[i])
        cat_id, cls_id, sub_ids, *_ = tax.classes[k[i]]
        _, cls_name, sub_names, *_ = TAXONOMY[k[i]]
        region_id, coms = tax.regions[region_i[i]]
        com_id, community, lat, lon = coms[int(com_pick[i] * len(coms))]
        device_id, mic_id = tax.devices[device_i[i]]
        collector = collectors[collector_i[i]]
        t = texts[i]
        recorded = start + timedelta(seconds=float(offset_s[i]))
        created = start + timedelta(seconds=float(int(created_s[i])))
        tod = tod_names[tod_i[i]]
        fill = {
            "sub": sub_names[t[0] % len(sub_names)], "cls": cls_name, "community": community,
            "km": (t[1] % 2000) / 10, "drop": 3 + t[1] % 9, "tod": tod.lower(),
            "dist": 7.5 * (1 + t[2] % 8), "wind": t[2] % 7,
            "weather": WEATHER[t[3] % len(WEATHER)], "platform": 1 + t[3] % 9,
        }  # fmt: skip
        token = f"{(rid * 2654435761) % (1 << 24):06X}"  # a bijection on ids below 16.7 M
        state = str(status[i])
        ready = state == "ready"
        recs.append((
            rid, m.new_noise_id(collector.username, recorded, token),
            NAME_TEMPLATES[t[1] % len(NAME_TEMPLATES)].format(**fill),
            DESCRIPTION_TEMPLATES[t[2] % len(DESCRIPTION_TEMPLATES)].format(**fill),
            tax.dataset_types[dtype_i[i]], collector.pk, cat_id, cls_id, sub_ids[t[0] % len(sub_ids)],
            region_id, com_id,
            round(lat + cols["lat"][i], 5) if located[i] else None,
            round(lon + cols["lon"][i], 5) if located[i] else None,
            recorded, tax.times_of_day[tod], device_id, mic_id, None, "", f"REC_{rid:07d}.WAV",
            None, None, state, FAILED_REASONS[rid % 2] if state == "failed" else "", created, created,
            "accepted", "",
            *((cols["laeq"][i], cols["lafmax"][i], "dB SPL", None, cols["duration"][i]) if ready
              else (None,) * 5),
        ))  # fmt: skip
        if not ready:
            continue
        nb_events, nb_peaks = events_l[i], peaks_l[i]
        feats.append((
            rid, cols["duration"][i], sr_l[i], samples[i], 1 if t[0] % 5 else 2, cols["rms"][i],
            cols["zcr"][i], cols["centroid"][i], cols["bandwidth"][i], cols["rolloff"][i],
            cols["flatness"][i], cols["harmonic"][i], cols["percussive"][i],
            json.dumps(cols["mfcc"][i]), json.dumps(cols["chroma"][i]),
        ))  # fmt: skip
        band_row = cols["bands"][i]
        levels.append((
            rid, "dB SPL", cols["lzeq"][i], cols["laeq"][i], cols["lafmax"][i], cols["lafmin"][i],
            cols["la10"][i], cols["la50"][i], cols["la90"][i], cols["mean"][i], cols["lafmax"][i],
            cols["lafmin"][i], cols["std"][i], cols["dominant"][i], cols["flow"][i],
            cols["fhigh"][i], nb_peaks,
            round(cols["duration"][i] / nb_peaks, 2) if nb_peaks > 1 else None, nb_events,
            json.dumps([round(0.5 + (t[1] % 80) / 10 * (j + 1) / nb_events, 1) for j in range(nb_events)]),
            _BAND_JSON % tuple(band_row),
            "{}",
        ))  # fmt: skip
    return recs, feats, levels


def _insert(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cols = ", ".join(columns)
            raw = cursor.cursor  # psycopg 3 cursor: COPY is several times faster than INSERT
            with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            # Times as Django writes them (naive UTC text): sqlite3's own adapter appends
            # "+00:00", which compares above Django's parameter for the same instant, so keyset
            # pages on recorded_at repeated or skipped a row at each page boundary.
            adapt = connection.ops.adapt_datetimefield_value
            rows = [tuple(adapt(v) if isinstance(v, datetime) else v for v in row) for row in rows]
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",  # noqa: S608
                rows,
            )


def _write_chunk(
    recs: list[tuple[Any, ...]], feats: list[tuple[Any, ...]], levels: list[tuple[Any, ...]]
) -> None:
    with transaction.atomic():
        _insert(m.Recording._meta.db_table, RECORDING_COLUMNS, recs)
        _insert(m.AudioFeatures._meta.db_table, FEATURE_COLUMNS, feats)
        _insert(m.NoiseAnalysis._meta.db_table, ANALYSIS_COLUMNS, levels)


def seed_recordings(
    count: int,
    *,
    seed: int = 20261128,
    chunk: int = 10_000,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Add `count` synthetic recordings; returns how many were written."""
    tax = ensure_taxonomy()
    collectors = list(User.objects.filter(username__in=[u for u, *_ in COLLECTORS] + ["collector"]))
    if not collectors:
        raise RuntimeError("Create the demo users first (ensure_demo_users).")
    collectors.sort(key=lambda u: u.username)
    now = datetime.now(UTC).replace(microsecond=0)
    first_id = (m.Recording.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    rng = np.random.default_rng([seed, first_id])
    done = 0
    # On PostgreSQL, building rows (numpy, json) and writing them overlap: a thread with its own
    # connection COPYs chunk i while this one builds chunk i + 1. SQLite writes in-process anyway.
    threaded = connection.vendor == "postgresql"
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending: list[Future[None]] = []
        while done < count:
            n = min(chunk, count - done)
            rows = generate_chunk(rng, tax, collectors, first_id + done, n, now)
            if threaded:
                if len(pending) >= 2:
                    pending.pop(0).result()
                pending.append(writer.submit(_write_chunk, *rows))
            else:
                _write_chunk(*rows)
            done += n
            if progress:
                progress(done, count)
        for future in pending:
            future.result()
        if threaded:
            writer.submit(connections.close_all).result()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [m.Recording]):
                cursor.execute(sql)
    return done


def demo_password() -> str:
    return getattr(settings, "NOISEBANK_DEMO_PASSWORD", "noisebank-demo")


def iter_demo_logins(password: str) -> Iterator[tuple[str, str, str]]:
    for username, role in DEMO_USERS:
        yield username, password, role.group_name


# (synth sound, seed, duration s, format, category, class, subclass, region, community, name)
AUDIO_DEMOS = [
    ("train_passby", 1, 14.0, "FLAC", "Train pass-by", "Freight train", "Container", "Greater Accra", "Tema", "Container train passing Tema yard"),
    ("horn", 1, 5.0, "WAV", "Warning signals", "Horn", "Two-tone", "Ashanti", "Kumasi", "Two-tone horn before Kumasi level crossing"),
    ("crossing_bell", 1, 8.0, "FLAC", "Warning signals", "Crossing bell", "Mechanical bell", "Zürich", "Oerlikon", "Crossing bell, Oerlikon"),
    ("station_ambience", 1, 15.0, "FLAC", "Station & yard", "Station ambience", "Platform", "Île-de-France", "Gare du Nord", "Platform 7 ambience, Gare du Nord"),
    ("train_passby", 2, 20.0, "WAV", "Train pass-by", "Passenger train", "Regional", "Central", "Cape Coast", "Regional train at Cape Coast, 25 m"),
    ("horn", 2, 6.0, "FLAC", "Warning signals", "Horn", "Two-tone", "Western", "Takoradi", "Horn at Takoradi harbour line"),
    ("crossing_bell", 2, 10.0, "WAV", "Warning signals", "Crossing bell", "Mechanical bell", "Eastern", "Nsawam", "Crossing bell at Nsawam road"),
    ("station_ambience", 2, 30.0, "FLAC", "Station & yard", "Station ambience", "Platform", "Greater Accra", "Accra Central", "Accra Central platform, evening"),
]  # fmt: skip
DEMO_DEVICE = "Noisebank demo recorder"
# The audio demos from this index on stay submitted, so the demo's review queue has work.
DEMO_SUBMITTED_FROM = 5


def seed_audio_recordings(count: int = len(AUDIO_DEMOS)) -> tuple[int, list[str]]:
    """Recordings with real synthesised audio, taken in through the upload service.

    They start pending and are queued, so the worker of `noisebank demo` measures them within
    seconds and their pages show real plots and play. The first DEMO_SUBMITTED_FROM are
    accepted by the demo admin; the others wait in the review queue. Files already present (same bytes) are
    skipped, so seeding twice adds nothing. Returns how many were added and why others were not
    (e.g. an upload limit smaller than the demo files).
    """
    import tempfile
    from pathlib import Path

    import soundfile as sf

    from noisebank.ingest.services import UploadRejected, recording_create
    from noisebank.lib import synth

    ensure_taxonomy()
    m.Device.objects.get_or_create(
        name=DEMO_DEVICE,
        defaults={
            "calibration_offset_db": synth.DEMO_CALIBRATION_OFFSET_DB,
            "microphone_type": m.MicrophoneType.objects.filter(name=MICROPHONES[0][0]).first(),
            "description": "Synthesised demo sounds: 0 dBFS RMS = 120 dB SPL.",
        },
    )
    collector = User.objects.filter(username="collector").first()
    made, problems = 0, []
    accepted: list[m.Recording] = []
    with tempfile.TemporaryDirectory(prefix="noisebank-demo-") as tmp:
        for i, (sound, seed, duration, fmt, cat, cls, sub, region, community, name) in enumerate(
            AUDIO_DEMOS[:count]
        ):
            samples = synth.DEMO_SOUNDS[sound](duration_s=duration, seed=seed)
            path = Path(tmp) / f"{sound}_{seed}.{fmt.lower()}"
            sf.write(path, samples, synth.SAMPLE_RATE, format=fmt, subtype="PCM_24")
            metadata = {
                "name": name,
                "description": "Synthesised by noisebank.lib.synth for the demo.",
                "category": cat,
                "sound_class": cls,
                "subclass": sub,
                "region": region,
                "community": community,
                "device": DEMO_DEVICE,
                "dataset_type": "Noise",
                "recorded_at": f"2026-11-{20 + i:02d}T{8 + i}:15:00Z",
            }
            try:
                created = recording_create(
                    file=path, filename=path.name, metadata=metadata, collector=collector
                )
            except UploadRejected as e:
                if e.kind != "duplicate":
                    problems.append(f"{name}: {e}")
                continue
            if i < DEMO_SUBMITTED_FROM:
                accepted.append(created.recording)
            made += 1
    if accepted:
        _accept_demo(accepted)
    return made, problems


def _accept_demo(recordings: list[m.Recording]) -> None:
    from django.utils import timezone

    reviewer = User.objects.filter(username="admin").first()
    m.Recording.objects.filter(pk__in=[r.pk for r in recordings]).update(
        review_state=m.Recording.Review.ACCEPTED,
        reviewed_by=reviewer,
        reviewed_at=timezone.now(),
        updated_at=timezone.now(),
    )
