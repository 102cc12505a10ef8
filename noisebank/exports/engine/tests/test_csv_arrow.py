"""The Arrow formatting of SQLite rows gives the CSV writer's bytes, or steps aside."""

import random
import struct
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import pytest

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.tests.data import COLUMNS, NASTY_ROWS
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.csv import CsvWriter
from noisebank.exports.engine.writers.csv_arrow import ArrowCsv


def writer_body(columns: list[Column], rows: list[Row]) -> bytes:
    return b"".join(islice(CsvWriter().stream(columns, rows, WriterOptions()), 1, None))


def as_sqlite(value: Any) -> Any:
    """A typed value as SQLite hands it over: times as the text Django stores, booleans 0/1."""
    if isinstance(value, datetime):
        return str(value.astimezone(UTC).replace(tzinfo=None))
    if isinstance(value, bool):
        return int(value)
    return value


def sqlite_rows(rows: list[Row]) -> list[Row]:
    return [tuple(map(as_sqlite, r)) for r in rows]


def test_nasty_rows_come_out_as_the_writer_writes_them() -> None:
    rows = [r for r in NASTY_ROWS if not any(isinstance(v, str) and "\x00" in v for v in r)]
    assert ArrowCsv(COLUMNS).body(sqlite_rows(rows)) == writer_body(COLUMNS, rows)


def test_every_kind_of_float_is_spelt_as_the_writer_spells_it() -> None:
    rng = random.Random(20261207)
    values = [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(20_000)]
    values += [rng.uniform(-1, 1) * 10 ** rng.randint(-12, 22) for _ in range(20_000)]
    values += [round(rng.uniform(-200, 20_000), rng.randint(0, 7)) for _ in range(20_000)]
    values += [float(rng.randint(-(10**17), 10**17)) for _ in range(2_000)]
    values += [1e-4, 9.999999999999999e-05, 1e10, 9999999999.999998, 1e15, 0.0, -0.0, 5e-324]
    values += [float("inf"), float("-inf"), float("nan"), 7, -(2**53)]  # ints: SQLite may mix
    columns = [Column("x", "x", "float"), Column("n", "n", "integer")]
    rows: list[Row] = [(v, i) for i, v in enumerate(values)]
    assert ArrowCsv(columns).body(rows) == writer_body(columns, rows)


@pytest.mark.parametrize(
    "stored",
    [
        "2026-11-28 12:00:00",
        "2026-11-28 12:00:00.250000",
        "2026-11-28 12:00:00.000000",
        "2026-11-28 12:00:00+00:00",
        "2026-11-28 12:00:00.000001+00:00",
        "0001-01-01 00:00:00",
        "9999-12-31 23:59:59.999999",
    ],
)
def test_times_in_the_layouts_sqlite_holds_are_rewritten_as_the_writer_writes_them(
    stored: str,
) -> None:
    columns = [Column("t", "t", "datetime"), Column("n", "n", "integer")]
    typed = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    assert ArrowCsv(columns).body([(stored, 1), (None, 2)]) == writer_body(
        columns, [(typed, 1), (None, 2)]
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("datetime", "2026-11-28T12:00:00"),  # another layout: the writer parses it
        ("datetime", "2026-11-28 12:00:00+02:00"),
        ("datetime", "2026-11-28 12:00:00.25"),
        ("integer", 2.5),  # a fraction in an integer column is not truncated
        ("text", 42),  # not text at all
        ("text", "a\x00b"),  # NUL, which the writer drops
    ],
)
def test_values_of_other_shapes_are_left_to_the_writer(column: str, value: Any) -> None:
    columns = [Column("c", "c", column), Column("n", "n", "integer")]
    assert ArrowCsv(columns).body([(value, 1)]) is None


def test_null_is_nothing_and_empty_text_is_two_quotes_in_one_column_too() -> None:
    columns = [Column("note", "Note", "text")]
    rows: list[Row] = [(None,), ("",), ("a,b",), ('say "hi"',), ("x",), ("line\r\nbreak",)]
    body = ArrowCsv(columns).body(rows)
    assert body == writer_body(columns, rows)
    assert body == b'\r\n""\r\n"a,b"\r\n"say ""hi"""\r\nx\r\n"line\r\nbreak"\r\n'


def test_columns_with_only_nulls_and_no_rows() -> None:
    assert ArrowCsv(COLUMNS).body([(None,) * len(COLUMNS)] * 3) == b",,,,,\r\n" * 3
    assert ArrowCsv(COLUMNS).body([]) == b""
