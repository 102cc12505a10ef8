"""The row source: one snapshot, counted and read consistently, on SQLite and PostgreSQL."""

import random
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from noisebank.catalog import models as m
from noisebank.catalog.filters import parse_filters
from noisebank.exports.columns import resolve_columns
from noisebank.exports.engine.writers import WriterOptions
from noisebank.exports.engine.writers.csv import CsvWriter, format_float
from noisebank.exports.services import Export, export_open
from noisebank.exports.source import pg_csv_text
from noisebank.exports.tests.readback import expected_rows, normalise, same_value
from noisebank.testing import make_awkward_recordings, make_many_recordings, make_recording

pytestmark = pytest.mark.usefixtures("transactional_db")

postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="COPY is PostgreSQL's: in the PostgreSQL pass (TEST_DATABASE_URL)",
)
sqlite_only = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's stored text")


def open_csv(columns: str = "noise_id,name,laeq", **filters: str) -> Export:
    return export_open(filters=parse_filters(filters), columns=resolve_columns(columns), fmt="csv")


def state() -> list[tuple[Any, ...]]:
    return list(
        m.Recording.objects.order_by("id").values_list("noise_id", "name", "analysis__laeq")
    )


def as_csv(rows: list[tuple[Any, ...]], columns: str = "noise_id,name,laeq") -> bytes:
    cols = [c.column for c in resolve_columns(columns)]
    return b"".join(CsvWriter().stream(cols, rows, WriterOptions()))


def test_count_and_rows_are_the_data_as_of_the_start(alice: User) -> None:
    recs = make_many_recordings(12_000, collector=alice)
    before = state()
    export = open_csv()
    assert export.row_count == 12_000
    # Committed by another connection after the snapshot was taken and before a row was read:
    make_recording(collector=alice, name="Inserted after the start")
    m.Recording.objects.filter(pk=recs[-1].pk).update(name="Renamed after the start")
    m.Recording.objects.filter(pk=recs[-2].pk).delete()
    chunks = export.chunks()
    first = next(chunks)
    # ... and while the export streams:
    m.Recording.objects.filter(pk=recs[-3].pk).update(name="Renamed while streaming")
    m.NoiseAnalysis.objects.filter(recording_id=recs[-4].pk).update(laeq=1.5)
    m.Recording.objects.filter(pk__in=[r.pk for r in recs[-20:-10]]).delete()
    make_recording(collector=alice, name="Inserted while streaming")
    body = first + b"".join(chunks)
    assert body == as_csv(before)
    assert body.count(b"\r\n") - 1 == export.row_count == export.rows_done
    assert len(state()) == 12_000 - 1 - 10 + 2  # the changes did happen


def test_sqlite_writers_are_not_blocked_while_an_export_reads(alice: User) -> None:
    make_many_recordings(50)
    export = open_csv()
    chunks = export.chunks()
    next(chunks)
    # Django's atomic() would take SQLite's write lock here; the export's read must not.
    with connection.cursor():
        m.Recording.objects.update(name="written during the export")
        make_recording(collector=alice)
    rest = b"".join(chunks).decode()
    assert "written during the export" not in rest
    assert m.Recording.objects.filter(name="written during the export").count() == 50


def test_closing_an_export_early_ends_its_snapshot(alice: User) -> None:
    make_many_recordings(6_000)
    export = open_csv("all")
    chunks = export.stream()
    next(chunks)
    chunks.close()  # the reader went away
    assert export.snapshot.closed
    assert export.snapshot.wrapper.connection is None


def test_filters_apply_inside_the_snapshot(alice: User, bob: User) -> None:
    make_recording(collector=alice, analysis={"laeq": 90.0})
    make_recording(collector=bob, analysis={"laeq": 70.0})
    export = open_csv("noise_id", collector="alice")
    body = b"".join(export.chunks()).decode().split()
    assert export.row_count == 1 == len(body) - 1


@postgres_only
@pytest.mark.parametrize("preset", ["default", "all", "noise_id,longitude,rms_energy,min_db"])
def test_copy_writes_the_bytes_of_the_python_csv_writer(alice: User, preset: str) -> None:
    make_awkward_recordings(collector=alice)
    for value in (float("nan"), float("inf"), float("-inf"), 2.5e-308):
        make_recording(collector=alice, longitude=value, analysis={"min_db": value})
    for bom, excel_safe in ((False, False), (True, False), (False, True)):
        options = WriterOptions(bom=bom, excel_safe=excel_safe)
        copied = export_open(
            filters=parse_filters({}), columns=resolve_columns(preset), fmt="csv", options=options
        )
        assert copied.uses_copy
        copy_bytes = b"".join(copied.chunks())
        assert copied.rows_done == copied.row_count
        python = export_open(
            filters=parse_filters({}), columns=resolve_columns(preset), fmt="csv", options=options
        )
        try:
            cols = [c.column for c in python.columns]
            python_bytes = b"".join(CsvWriter().stream(cols, python.rows(), python.options))
        finally:
            python.close()
        assert copy_bytes == python_bytes
        assert b",NaN," in copy_bytes and b",-Infinity," in copy_bytes
        assert b",2.5e-308," in copy_bytes
        if excel_safe and "name" in [c.name for c in copied.columns]:
            assert b"'=HYPERLINK(" in copy_bytes and b",'@platform 4," in copy_bytes


@postgres_only
def test_copy_times_do_not_depend_on_the_servers_date_style(alice: User) -> None:
    make_awkward_recordings(collector=alice)
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cur:  # new connections (the snapshot's) start in this style
        cur.execute(f"ALTER DATABASE \"{name}\" SET DateStyle = 'SQL, DMY'")
    try:
        columns = resolve_columns("noise_id,recording_date,created_at")
        copied = export_open(filters=parse_filters({}), columns=columns, fmt="csv")
        copy_bytes = b"".join(copied.chunks())
        python = export_open(filters=parse_filters({}), columns=columns, fmt="csv")
        try:
            cols = [c.column for c in python.columns]
            python_bytes = b"".join(CsvWriter().stream(cols, python.rows(), python.options))
        finally:
            python.close()
    finally:
        with connection.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{name}" RESET DateStyle')
    assert copy_bytes == python_bytes
    assert b",2025-01-01T00:00:00.123456Z," not in copy_bytes  # the awkward times: 0 and .123456
    assert b",2025-01-02T00:00:00.123456Z," in copy_bytes


@sqlite_only
@pytest.mark.parametrize("preset", ["default", "all", "noise_id,recording_date,longitude"])
def test_sqlite_csv_writes_the_bytes_of_the_python_csv_writer(alice: User, preset: str) -> None:
    make_awkward_recordings(collector=alice)
    for value in (float("inf"), float("-inf"), 2.5e-308, 1e-7, 123456.75):
        make_recording(collector=alice, longitude=value, analysis={"min_db": value})
    # Values the Arrow path leaves to the Python writer, each in a batch of its own below:
    make_recording(collector=alice, name="NUL \x00 inside")
    other = make_recording(collector=alice)
    m.Recording.objects.filter(pk=other.pk).update(name="another tool's time")
    with connection.cursor() as cur:  # a time in a layout Django does not write
        cur.execute(
            "UPDATE catalog_recording SET recorded_at = '2026-01-02T03:04:05.5' WHERE id = %s",
            [other.pk],
        )
    columns = resolve_columns(preset)
    for bom in (False, True):
        fast = export_open(
            filters=parse_filters({}), columns=columns, fmt="csv", options=WriterOptions(bom=bom)
        )
        assert fast.uses_sqlite_csv and not fast.uses_copy
        fast_bytes = b"".join(fast.chunks())
        assert fast.rows_done == fast.row_count == len(m.Recording.objects.all())
        python = export_open(
            filters=parse_filters({}), columns=columns, fmt="csv", options=WriterOptions(bom=bom)
        )
        try:
            cols = [c.column for c in python.columns]
            python_bytes = b"".join(CsvWriter().stream(cols, python.rows(), python.options))
        finally:
            python.close()
        assert fast_bytes == python_bytes
    small = export_open(filters=parse_filters({}), columns=columns, fmt="csv")
    try:  # batches of 3 rows: some formatted by Arrow, some by the writer, in order
        batches = list(small.snapshot.sqlite_csv(small.query, fetch=3))
    finally:
        small.close()
    assert b"".join(b for b, _ in batches) == python_bytes.split(b"\r\n", 1)[1]
    assert sum(n for _, n in batches) == small.row_count
    assert b"2026-01-02T03:04:05.500000Z" in python_bytes
    assert (b"NUL  inside" in python_bytes) == ("name" in [c.name for c in columns])


@postgres_only
def test_copy_formats_every_kind_of_float_as_the_csv_writer_does(db: None) -> None:
    rng = random.Random(20261128)
    values = [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(3000)]
    values += [rng.uniform(-1e17, 1e17) for _ in range(1000)]
    values += [rng.uniform(-1, 1) * 10 ** rng.randint(-8, 20) for _ in range(3000)]
    values += [float(rng.randint(-(10**17), 10**17)) for _ in range(1000)]
    values += [float(rng.randint(2**53, 10**16)) for _ in range(1000)]
    values += [rng.uniform(1, 10) * 10 ** rng.randint(15, 30) for _ in range(3000)]
    values += [rng.uniform(1, 10) * 10 ** rng.randint(290, 308) for _ in range(500)]
    values += [0.0, -0.0, 1e15, 1e16, 999999999999999.9, 1e-4, 9.999999999999999e-05, 5e-324]
    values = [v for v in values if v == v]  # NaN has its own test above
    with connection.cursor() as cur:
        sql = f"SELECT {pg_csv_text('x', 'float')} FROM unnest(%s::float8[]) AS x"  # noqa: S608
        cur.execute(sql, [values])
        texts = [row[0] for row in cur.fetchall()]
    assert texts == [format_float(v) for v in values]


@postgres_only
def test_copy_formats_times_and_integers_as_the_csv_writer_does(db: None) -> None:
    times = [
        datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
        datetime(2026, 11, 28, 12, 0, 0, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    numbers = [-(2**63), 0, 2**40]
    with connection.cursor() as cur:
        sql = f"SELECT {pg_csv_text('t', 'datetime')} FROM unnest(%s::timestamptz[]) t"  # noqa: S608
        cur.execute(sql, [times])
        texts = [row[0] for row in cur.fetchall()]
        sql = f"SELECT {pg_csv_text('i', 'integer')} FROM unnest(%s::int8[]) i"  # noqa: S608
        cur.execute(sql, [numbers])
        ints = [row[0] for row in cur.fetchall()]
    lines = as_csv([(t,) for t in times], "recording_date").decode().split("\r\n")
    assert texts == lines[1:-1]
    assert texts[1] == "2026-11-28T12:00:00.000001Z"
    assert ints == numbers  # COPY writes an int8 as the CSV writer does: decimal digits


PYTHON_TYPES = {"text": str, "integer": int, "float": float, "datetime": datetime, "boolean": bool}


def test_rows_hold_the_database_values_with_the_promised_types(alice: User) -> None:
    recs = make_awkward_recordings(collector=alice)
    export = export_open(filters=parse_filters({}), columns=resolve_columns("all"), fmt="csv")
    try:
        rows = list(export.rows())
    finally:
        export.close()
    names = [c.name for c in export.columns]
    expected = expected_rows(names)
    assert len(rows) == len(recs) == export.row_count
    for row, want in zip(rows, expected, strict=True):
        for name, value, column in zip(names, row, export.columns, strict=True):
            if value is not None:
                assert isinstance(value, PYTHON_TYPES[column.column.type]), (name, value)
            if isinstance(value, datetime):
                assert value.utcoffset() == timedelta(0)
            got = normalise(value, name, "jsonl")
            assert same_value(got, normalise(want[name], name, "jsonl"), "jsonl"), (name, got)
