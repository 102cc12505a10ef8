"""Test helpers: what a row should hold, worked out from the ORM objects independently of the
export's SQL, and readers that turn each format's bytes back into typed rows.

Readers exist for every format the product offers; a format's tests run once its writer is in
WRITERS.
"""

import csv
import io
import json
import math
import os
import time
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

from noisebank.catalog import models as m
from noisebank.exports.columns import COLUMNS, band_column_name
from noisebank.lib.bands import BAND_CENTRES


def _name(obj: Any, attr: str = "name") -> Any:
    return getattr(obj, attr) if obj is not None else None


def _related(rec: m.Recording, name: str) -> Any:
    try:
        return getattr(rec, name)
    except Exception:  # RelatedObjectDoesNotExist: no measurements yet
        return None


def _json_number(container: Any, key: Any) -> float | None:
    try:
        value = container[key]
    except (KeyError, IndexError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def reference_row(rec: m.Recording) -> dict[str, Any]:
    """Every column's value for one recording, from model attributes (not the export's SQL)."""
    f = _related(rec, "features")
    a = _related(rec, "analysis")

    def feat(attr: str) -> Any:
        return getattr(f, attr) if f is not None else None

    def lvl(attr: str) -> Any:
        return getattr(a, attr) if a is not None else None

    in_force = rec.calibration_in_force()
    device_calibration = in_force.calibration
    high, low = lvl("freq_high_hz"), lvl("freq_low_hz")
    row: dict[str, Any] = {
        "noise_id": rec.noise_id,
        "name": rec.name,
        "dataset_type": _name(rec.dataset_type),
        "collector": _name(rec.collector, "username"),
        "description": rec.description,
        "recording_device": _name(rec.device),
        "recording_date": rec.recorded_at,
        "created_at": rec.created_at,
        "updated_at": rec.updated_at,
        "region": _name(rec.region),
        "community": _name(rec.community),
        "category": _name(rec.category),
        "class": _name(rec.sound_class),
        "subclass": _name(rec.subclass),
        "time_of_day": _name(rec.time_of_day),
        "microphone_type": _name(rec.microphone_type),
        "audio_file": rec.audio.name or None,
        "audio_size": rec.size_bytes,
        "audio_duration": feat("duration_s"),
        "sample_rate": feat("sample_rate"),
        "num_samples": feat("num_samples"),
        "rms_energy": feat("rms_energy"),
        "zero_crossing_rate": feat("zero_crossing_rate"),
        "spectral_centroid": feat("spectral_centroid"),
        "spectral_bandwidth": feat("spectral_bandwidth"),
        "spectral_rolloff": feat("spectral_rolloff"),
        "spectral_flatness": feat("spectral_flatness"),
        "harmonic_ratio": feat("harmonic_ratio"),
        "percussive_ratio": feat("percussive_ratio"),
        "mean_db": lvl("mean_db"),
        "max_db": lvl("max_db"),
        "min_db": lvl("min_db"),
        "std_db": lvl("std_db"),
        "peak_count": lvl("peak_count"),
        "peak_interval_mean": lvl("peak_interval_mean_s"),
        "dominant_frequency": lvl("dominant_frequency_hz"),
        "frequency_range": high - low if high is not None and low is not None else None,
        "event_count": lvl("event_count"),
        "unit": lvl("unit"),
        **{k: lvl(k) for k in ("lzeq", "laeq", "lafmax", "lafmin", "la10", "la50", "la90")},
        "latitude": rec.latitude,
        "longitude": rec.longitude,
        "freq_low_hz": low,
        "freq_high_hz": high,
        "calibration_offset_db": in_force.offset_db,
        "calibration_id": device_calibration.pk if device_calibration else None,
        "calibration_date": device_calibration.valid_from if device_calibration else None,
        "status": rec.status,
        "processing_error": rec.error,
        "review_state": rec.review_state,
        "sha256": rec.sha256,
        "original_filename": rec.original_filename,
        "channels": feat("channels"),
        "event_durations": lvl("event_durations_s"),  # compared as parsed JSON
        "no_signal": lvl("no_signal"),
        "clipped_share": lvl("clipped_share"),
        "dc_offset": lvl("dc_offset"),
        **{k: lvl(k) for k in JSON_LISTS if k != "event_durations"},  # parsed JSON too
        "time_zone": lvl("time_zone") or None,
        **{k: lvl(k) for k in ("lday", "levening", "lnight", "lden")},
        **{k: lvl(k) for k in ("lday_hours", "levening_hours", "lnight_hours")},
    }
    for i in range(1, 14):
        row[f"mfcc_{i}"] = _json_number(feat("mfcc"), i - 1)
    for i in range(1, 13):
        row[f"chroma_{i}"] = _json_number(feat("chroma"), i - 1)
    for centre in BAND_CENTRES:
        row[band_column_name(centre)] = _json_number(lvl("band_levels"), centre)
    assert set(row) == set(COLUMNS), set(COLUMNS) ^ set(row)
    return row


RELATED = [
    "dataset_type", "collector", "device", "region", "community", "category", "sound_class",
    "subclass", "time_of_day", "microphone_type", "features", "analysis",
]  # fmt: skip


def expected_rows(names: list[str], **filters: Any) -> list[dict[str, Any]]:
    recs = m.Recording.objects.filter(**filters).select_related(*RELATED).order_by("id")
    return [{n: reference_row(r)[n] for n in names} for r in recs]


def _from_text(value: str, type_: str) -> Any:
    """A CSV field back to a typed value; an empty field is None (CSV cannot tell '' apart)."""
    if value == "":
        return None
    if type_ == "integer":
        return int(value)
    if type_ == "float":
        return float(value)
    if type_ == "datetime":
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if type_ == "boolean":
        return value == "True"
    return value


def _from_json(value: Any, type_: str) -> Any:
    if value is None:
        return None
    if type_ == "datetime":
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if type_ == "float":
        return float(value)
    return value


def read_csv(data: bytes, names: list[str]) -> list[dict[str, Any]]:
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    assert header == names
    types = [COLUMNS[n].column.type for n in names]
    return [
        {n: _from_text(v, t) for n, v, t in zip(names, row, types, strict=True)} for row in reader
    ]


def read_jsonl(data: bytes, names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for line in data.decode("utf-8").splitlines():
        obj = json.loads(line)
        assert list(obj) == names
        rows.append({n: _from_json(obj[n], COLUMNS[n].column.type) for n in names})
    return rows


def read_geojson(data: bytes, names: list[str]) -> list[dict[str, Any]]:
    """The features' properties, as read_jsonl reads its objects."""
    lines = [json.dumps(f["properties"]) for f in json.loads(data)["features"]]
    return read_jsonl("\n".join(lines).encode(), names)


def read_parquet(data: bytes, names: list[str]) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    assert table.column_names == names
    return [
        {n: _from_json(v, COLUMNS[n].column.type) for n, v in row.items()}
        for row in table.to_pylist()
    ]


def read_xlsx(data: bytes, names: list[str]) -> list[dict[str, Any]]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows: list[dict[str, Any]] = []
    for sheet in book.worksheets:
        it = sheet.iter_rows(values_only=True)
        header = [str(h).split(" (")[0] for h in next(it)]  # "recording_date (UTC)"
        assert header == names
        for values in it:
            row = {}
            for n, v in zip(names, values, strict=True):
                t = COLUMNS[n].column.type
                if isinstance(v, datetime):
                    v = v.replace(tzinfo=UTC)
                row[n] = _from_json(v, t) if v != "" else None
            rows.append(row)
    return rows


def read_zip(data: bytes, names: list[str]) -> list[dict[str, Any]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            if info.filename.endswith(".csv") and "/" not in info.filename:
                return read_csv(z.read(info), names)
    raise AssertionError("no metadata CSV in the bundle")


READERS = {
    "csv": read_csv,
    "jsonl": read_jsonl,
    "geojson": read_geojson,
    "parquet": read_parquet,
    "xlsx": read_xlsx,
    "zip": read_zip,
}
# Text columns holding a JSON list.
JSON_LISTS = {
    "event_durations", "channel_laeq", "dead_channels", "level_channels", "hourly_laeq",
}  # fmt: skip
# Formats that cannot tell an empty text from a missing one (they write both as nothing).
LOSSY_EMPTY_TEXT = {"csv", "xlsx", "zip"}


def normalise(value: Any, name: str, fmt: str) -> Any:
    """Make an expected value comparable with what `fmt` can carry."""
    type_ = COLUMNS[name].column.type
    if name in JSON_LISTS and value is not None and not isinstance(value, list):
        value = json.loads(value)
    if type_ == "text" and value == "" and fmt in LOSSY_EMPTY_TEXT:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


# A serial day number: spreadsheet readers give times to the millisecond, each rounding in its
# own way (a time on a half millisecond, as a float of days, may go either way).
XLSX_TIME_TOLERANCE = timedelta(microseconds=501)


def same_value(a: Any, b: Any, fmt: str) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime) and fmt == "xlsx":
        return abs(a - b) <= XLSX_TIME_TOLERANCE
    if isinstance(a, float) and isinstance(b, float) and fmt == "xlsx":
        return math.isclose(a, b, rel_tol=1e-15) or a == b  # Excel keeps 15-17 digits
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


def assert_rows_equal(got: list[dict[str, Any]], expected: list[dict[str, Any]], fmt: str) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        for name in e:
            gv, ev = normalise(g[name], name, fmt), normalise(e[name], name, fmt)
            assert same_value(gv, ev, fmt), f"{e['noise_id']} {name}: got {gv!r}, expected {ev!r}"


def open_connections(pid: int | None = None) -> int:
    """Connections to the test database other than the test's own: on PostgreSQL the server's
    sessions, on SQLite the database file descriptors held by process `pid` (default: this one).

    SQLite keeps a closed connection's descriptor while another connection of the process holds
    a lock on the file, so in this process the test's own connection is closed first.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return int(cur.fetchone()[0])
    db = os.path.realpath(str(connection.settings_dict["NAME"]))
    if pid is None:
        connection.close()
    fd_dir = f"/proc/{pid or os.getpid()}/fd"
    held = 0
    for fd in os.listdir(fd_dir):
        try:
            held += os.path.realpath(os.path.join(fd_dir, fd)) == db
        except OSError:
            continue
    return held


def settled_connections(expected: int, pid: int | None = None, wait_s: float = 10) -> int:
    """open_connections() once it reaches `expected` or `wait_s` has passed: a server process
    notices a closed client connection a moment later, not at once."""
    deadline = time.monotonic() + wait_s
    while (count := open_connections(pid)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return count
